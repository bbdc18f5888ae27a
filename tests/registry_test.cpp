// The registry: every mechanism registers itself from its own file (harness/registry.hpp).
// What a new file gets for free rests on these: one stable order, unique names, and the
// per-channel limit checked by the harness before any create().
#include "harness/registry.hpp"

#include <gtest/gtest.h>

#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "harness/error.hpp"
#include "harness/fdio.hpp"

namespace ipcbench {
namespace {

TEST(Registry, SortedByOrderThenName) {
  const auto all = mechanisms();
  ASSERT_FALSE(all.empty()) << "no mechanism registered itself: were their objects linked?";
  for (std::size_t i = 1; i < all.size(); ++i) {
    EXPECT_LT(std::tie(all[i - 1]->order, all[i - 1]->name), std::tie(all[i]->order, all[i]->name))
        << all[i - 1]->name << " before " << all[i]->name;
  }
}

TEST(Registry, NamesAreUniqueAndFound) {
  std::set<std::string_view> names;
  for (const Mechanism* m : mechanisms()) {
    EXPECT_TRUE(names.insert(m->name).second) << m->name;
    EXPECT_EQ(find_mechanism(m->name), m) << m->name;
  }
  EXPECT_EQ(find_mechanism("no_such_mechanism"), nullptr);
}

// The family is the one its order's hundred stands for, and a transport is a mechanism.
TEST(Registry, FamilyMatchesOrderAndTransportExists) {
  const std::string_view families[] = {kFamilySharedMemory, kFamilyByteStream, kFamilyMessage,
                                       kFamilyNetwork,      kFamilyRpc,        kFamilyLibrary};
  for (const Mechanism* m : mechanisms()) {
    const int hundred = m->order / 100;
    ASSERT_TRUE(hundred >= 1 && hundred <= 6) << m->name << ": order " << m->order;
    EXPECT_EQ(m->family, families[hundred - 1]) << m->name;
    if (!m->transport.empty()) {
      EXPECT_NE(find_mechanism(m->transport), nullptr) << m->name << " rides on " << m->transport;
      EXPECT_NE(m->transport, m->name);
    }
  }
}

// A file copied without renaming its mechanism: refused, and the list is unchanged.
TEST(Registry, DuplicateNameIsRefused) {
  const std::vector<const Mechanism*> before(mechanisms().begin(), mechanisms().end());
  static const Mechanism kCopy = *find_mechanism("pipe");
  try {
    register_mechanism(kCopy);
    FAIL() << "a second mechanism named pipe was registered";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("two mechanisms are named \"pipe\""), std::string::npos)
        << e.what();
  }
  const std::vector<const Mechanism*> after(mechanisms().begin(), mechanisms().end());
  EXPECT_EQ(before, after);
}

bool g_created = false;

// open_channel refuses a channel over the limit before create() runs, with the reason.
TEST(Registry, OpenChannelChecksTheLimitBeforeCreate) {
  Mechanism m;
  m.name = "records_create";
  m.create = [](const ChannelConfig&) -> std::unique_ptr<Channel> {
    g_created = true;
    return nullptr;
  };
  const ChannelConfig cfg{.pattern = Pattern::stream, .msg_bytes = 1 << 20, .capacity_msgs = 1024};
  g_created = false;
  try {
    open_channel(m, cfg);
    FAIL() << "a 1 GiB channel was opened";
  } catch (const NotRunnable& e) {
    EXPECT_NE(std::string(e.what()).find("exceeds ipcbench's per-channel limit of 256 MiB"),
              std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(g_created);

  const ChannelConfig small{.pattern = Pattern::stream, .msg_bytes = 64, .capacity_msgs = 16};
  EXPECT_EQ(open_channel(m, small), nullptr);
  EXPECT_TRUE(g_created);
}

}  // namespace
}  // namespace ipcbench
