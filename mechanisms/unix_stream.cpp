// unix_stream: a connected pair of AF_UNIX SOCK_STREAM sockets (socketpair), one
// socket per side, used in both directions for pingpong.
//
// Capacity: SO_SNDBUF and SO_RCVBUF on both sockets, starting at capacity x size bytes
// (AF_UNIX stream flow control is the sender's SO_SNDBUF). Past net.core.wmem_max/rmem_max the
// kernel would cap the request silently, so ipcbench uses SO_SNDBUFFORCE/SO_RCVBUFFORCE
// (CAP_NET_ADMIN) there and reports the case not runnable without the privilege. The
// kernel doubles the value for bookkeeping and charges each skb's overhead (~800 B for
// a small message), so fit_capacity() probes the fresh socket and grows the buffer
// until `capacity` messages fit; capacity_effective is the probed count.
// Wait: block = blocking read/write; spin = O_NONBLOCK, retrying EAGAIN.
// Nothing named: nothing to leak.
#include <sys/socket.h>
#include <unistd.h>

#include <tuple>

#include "harness/error.hpp"
#include "harness/fdio.hpp"
#include "harness/registry.hpp"
#include "harness/sockets.hpp"

namespace ipcbench {
namespace {

class UnixStreamChannel final : public FdPairChannel {
 public:
  explicit UnixStreamChannel(const ChannelConfig& cfg) : FdPairChannel(cfg.wait) {
    std::tie(a_, b_) = unix_socket_pair(SOCK_STREAM);
    granted_ = fit_socket_buffers(cfg);
  }

 private:
  std::unique_ptr<Endpoint> make_endpoint(UniqueFd socket) override {
    return std::make_unique<StreamFdEndpoint>(std::move(socket), UniqueFd(), wait_);
  }
};

}  // namespace

const Mechanism kUnixStream{
    .name = "unix_stream",
    .summary = "AF_UNIX SOCK_STREAM socketpair",
    .capacity_knob =
        "SO_SNDBUF = SO_RCVBUF from capacity x size bytes, grown until capacity messages fit "
        "(probed)",
    .order = 220,
    .family = kFamilyByteStream,
    .create = create_channel<UnixStreamChannel>,
};
const Registration kUnixStreamRegistration{kUnixStream};

}  // namespace ipcbench
