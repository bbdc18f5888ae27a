// dbus, dbus_p2p: D-Bus method calls with libdbus-1 (the reference implementation), over
// AF_UNIX stream sockets.
//   dbus      through a private dbus-daemon that create() starts for the channel: each
//             child opens its own private connection to it (dbus_connection_open_private,
//             then dbus_bus_register: never the shared dbus_bus_get, whose connection
//             must not cross a fork), so every message is routed by the daemon
//             (client -> daemon -> server: two socket hops each way).
//   dbus_p2p  a direct connection, no daemon: the server child listens
//             (dbus_server_listen) and the client connects; one hop each way.
//
// Set-up (orchestrator, create()): a private 0700 mkdtemp directory. dbus: a bus
// configuration written there (0600), the bus socket <dir>/bus bound by us (0600, a name
// already there refused) and listening, then `dbus-daemon --config-file=... --nofork
// --print-address=4` forked and exec'd with that socket as fd 3 (systemd socket
// activation: <listen>systemd:</listen>, LISTEN_FDS=1, LISTEN_PID; a socket libdbus binds
// itself it chmods to 0777), with PR_SET_PDEATHSIG (it dies with the orchestrator; the
// next run's sweep removes the directory) and its output in <dir>/daemon.log (0600, read
// back for an error). create() returns once the daemon has printed its address. The
// policy lets any connection own any name and send anything; only our own uid can
// connect (no <allow user>: dbus-daemon's default is the uid that runs it; the
// directory is 0700 too). dbus_p2p: only the directory; the server child binds
// <dir>/p2p (umask 0177, then chmod 0600 again after libdbus's chmod 0777) and listens,
// accepting EXTERNAL auth (same uid) only.
// A ready pipe orders the children: the server writes one byte once it is reachable
// (owns org.ipcbench.Server on the bus, or listens), the client reads it before it
// connects (EOF: the server died first). The Channel destructor kills (SIGKILL) and
// reaps the daemon, then removes the socket files, the files and the directory.
//
// Pingpong (timed on the client): send() is one method call Echo(ay) carrying the
// payload; recv() waits for its method return and copies the array out. The server's
// recv() pops the call and copies the payload; its send() replies with the bytes given.
// Stream: every send() is a method call Sink(ay) flagged NO_REPLY_EXPECTED; before the
// (capacity+1)-th one since the last wait the producer makes a Sync() call, whose reply
// comes once the consumer has taken every call before it: at most `capacity` calls are
// in flight. send() flushes what libdbus could not write at once (a large message), so
// no message waits in libdbus's queue when a side leaves with _exit().
//
// Capacity: the window of calls in flight (stream: capacity; pingpong: 1), enforced as
// above. libdbus queues outgoing messages without bound and the daemon queues each
// receiver's messages up to max_outgoing_bytes, so neither is a knob to map onto:
// the daemon's limits are set to 1 GB (as session.conf does), above any window the
// harness allows (256 MiB), so the daemon never refuses or drops a message in flight.
// Granted: capacity_msgs = the window, capacity_bytes = window x size (payload).
// Size: a D-Bus array holds at most 64 MiB (DBUS_MAXIMUM_ARRAY_LENGTH), a message at most
// 128 MiB (max_message_size here and on every connection): larger is not runnable.
// Wait: block only (dbus_connection_read_write with no timeout: poll() on the socket).
// Allocation: libdbus builds a DBusMessage for every message, on the sending side
// (dbus_message_new_*) and the receiving side (its loader), and copies the payload into
// and out of it; freed messages up to 10 KiB are kept in a cache of five and reused,
// larger ones are malloc'd and freed each time. That is the library's cost, measured.
// libdbus also reads at most 2 KiB per recvmsg (max_bytes_read_per_iteration), which
// dominates large messages.
// A dead peer: dbus_p2p sees the socket close ("Disconnected"). On the bus the
// daemon answers a call to a vanished server with an error (NoReply, ServiceUnknown),
// and the server watches NameOwnerChanged for org.ipcbench.Client, the name the client
// owns: both end as PeerError.
#include <dbus/dbus.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "harness/error.hpp"
#include "harness/owners.hpp"
#include "harness/registry.hpp"
#include "harness/sockets.hpp"

namespace ipcbench {
namespace {

enum class Variant { bus, p2p };

constexpr const char* kInterface = "org.ipcbench.Bench";
constexpr const char* kObjectPath = "/org/ipcbench/Bench";
// Fixed names: the bus is private to one channel, so nobody else can take them.
constexpr const char* kServerName = "org.ipcbench.Server";
constexpr const char* kClientName = "org.ipcbench.Client";
constexpr std::size_t kMaxPayloadBytes = DBUS_MAXIMUM_ARRAY_LENGTH;  // 64 MiB
constexpr long kMaxMessageBytes = DBUS_MAXIMUM_MESSAGE_LENGTH;       // 128 MiB
constexpr int kDaemonStartMs = 10'000;  // the daemon prints its address within this

// ---- libdbus helpers ----

struct MessageUnref {
  void operator()(DBusMessage* m) const noexcept { dbus_message_unref(m); }
};
using Message = std::unique_ptr<DBusMessage, MessageUnref>;

// A DBusError, freed with its scope.
struct Error {
  Error() { dbus_error_init(&e); }
  ~Error() { dbus_error_free(&e); }
  Error(const Error&) = delete;
  Error& operator=(const Error&) = delete;
  std::string describe() const {
    return std::string(e.name ? e.name : "?") + ": " + (e.message ? e.message : "");
  }
  DBusError e;
};

// A private connection: closed and unreferenced with its owner (a shared one must not be
// closed; we never use one).
class Connection {
 public:
  Connection() = default;
  explicit Connection(DBusConnection* c) noexcept : c_(c) {}
  Connection(Connection&& o) noexcept : c_(std::exchange(o.c_, nullptr)) {}
  Connection& operator=(Connection&&) = delete;
  Connection(const Connection&) = delete;
  ~Connection() {
    if (c_ != nullptr) {
      dbus_connection_close(c_);
      dbus_connection_unref(c_);
    }
  }
  DBusConnection* get() const noexcept { return c_; }

 private:
  DBusConnection* c_ = nullptr;
};

// libdbus fails these only when malloc does.
void check_alloc(bool ok) {
  if (!ok) throw std::bad_alloc();
}

Message new_call(const char* destination, const char* member) {
  Message m(dbus_message_new_method_call(destination, kObjectPath, kInterface, member));
  check_alloc(m != nullptr);
  return m;
}

void append_payload(DBusMessage* m, std::span<const std::byte> msg) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(msg.data());
  check_alloc(dbus_message_append_args(m, DBUS_TYPE_ARRAY, DBUS_TYPE_BYTE, &bytes,
                                       static_cast<int>(msg.size()), DBUS_TYPE_INVALID));
}

// The message's byte array, copied into buf (its length returned).
std::size_t copy_payload(DBusMessage* m, std::span<std::byte> buf) {
  DBusMessageIter it, array;
  if (!dbus_message_iter_init(m, &it) || dbus_message_iter_get_arg_type(&it) != DBUS_TYPE_ARRAY ||
      dbus_message_iter_get_element_type(&it) != DBUS_TYPE_BYTE) {
    throw PeerError("dbus: a message without a byte array (signature " +
                    std::string(dbus_message_get_signature(m)) + ")");
  }
  dbus_message_iter_recurse(&it, &array);
  const unsigned char* bytes = nullptr;
  int len = 0;
  dbus_message_iter_get_fixed_array(&array, &bytes, &len);
  const auto n = static_cast<std::size_t>(len);
  if (n > buf.size())
    throw PeerError("dbus: a message of " + std::to_string(n) + " bytes, over the message size");
  std::memcpy(buf.data(), bytes, n);
  return n;
}

// ---- one side's end ----

class DbusEndpoint : public Endpoint {
 protected:
  explicit DbusEndpoint(Connection conn) : conn_(std::move(conn)) {}
  // The next message received, waiting for it; PeerError once the connection is gone.
  Message next();
  // Sends m, and flushes what libdbus could not write at once.
  void post(DBusMessage* m, dbus_uint32_t* serial = nullptr);

  Connection conn_;
};

Message DbusEndpoint::next() {
  for (;;) {
    if (Message m{dbus_connection_pop_message(conn_.get())}) {
      if (dbus_message_is_signal(m.get(), DBUS_INTERFACE_LOCAL, "Disconnected"))
        throw peer_gone("dbus: Disconnected");
      return m;
    }
    if (!dbus_connection_read_write(conn_.get(), -1)) throw peer_gone("dbus: Disconnected");
  }
}

void DbusEndpoint::post(DBusMessage* m, dbus_uint32_t* serial) {
  check_alloc(dbus_connection_send(conn_.get(), m, serial));
  if (dbus_connection_has_messages_to_send(conn_.get())) dbus_connection_flush(conn_.get());
}

// Side a: pingpong client, stream producer.
class ClientEndpoint final : public DbusEndpoint {
 public:
  ClientEndpoint(Connection conn, const char* server, Pattern pattern, std::uint64_t window)
      : DbusEndpoint(std::move(conn)), server_(server), pattern_(pattern), window_(window) {}

  void send(std::span<const std::byte> msg) override;
  std::size_t recv(std::span<std::byte> buf) override {
    Message reply = await_reply();
    return copy_payload(reply.get(), buf);
  }

 private:
  // The reply to the last call (serial_), skipping bus signals (NameAcquired).
  Message await_reply();

  const char* server_;  // the destination: the server's name on the bus, none p2p
  Pattern pattern_;
  std::uint64_t window_;
  std::uint64_t in_flight_ = 0;  // one-way calls since the last Sync
  dbus_uint32_t serial_ = 0;
};

void ClientEndpoint::send(std::span<const std::byte> msg) {
  if (pattern_ == Pattern::pingpong) {
    Message call = new_call(server_, "Echo");
    append_payload(call.get(), msg);
    post(call.get(), &serial_);
    return;
  }
  if (in_flight_ == window_) {
    post(new_call(server_, "Sync").get(), &serial_);
    await_reply();
    in_flight_ = 0;
  }
  Message call = new_call(server_, "Sink");
  dbus_message_set_no_reply(call.get(), TRUE);
  append_payload(call.get(), msg);
  post(call.get());
  ++in_flight_;
}

Message ClientEndpoint::await_reply() {
  for (;;) {
    Message m = next();
    if (dbus_message_get_reply_serial(m.get()) != serial_) continue;
    if (dbus_message_get_type(m.get()) == DBUS_MESSAGE_TYPE_METHOD_RETURN) return m;
    if (dbus_message_get_type(m.get()) != DBUS_MESSAGE_TYPE_ERROR) continue;
    Error err;
    dbus_set_error_from_message(&err.e, m.get());
    // NoReply (the server left without replying), ServiceUnknown / NameHasNoOwner (it
    // is gone): the daemon speaks for a server that is no longer there.
    throw peer_gone("dbus: " + err.describe());
  }
}

// Side b: pingpong server, stream consumer.
class ServerEndpoint final : public DbusEndpoint {
 public:
  ServerEndpoint(Connection conn, DBusServer* server)
      : DbusEndpoint(std::move(conn)), server_(server) {}

  void send(std::span<const std::byte> msg) override {
    Message reply(dbus_message_new_method_return(call_.get()));
    check_alloc(reply != nullptr);
    append_payload(reply.get(), msg);
    post(reply.get());
    call_.reset();
  }
  std::size_t recv(std::span<std::byte> buf) override;

 private:
  // True when m says the client's connection left the bus.
  static bool client_left(DBusMessage* m);

  // dbus_p2p: the listener, kept open while the child lives. dbus_server_disconnect
  // would unlink its socket file, and only the orchestrator removes names.
  DBusServer* server_;
  Message call_;  // the Echo call being answered
};

std::size_t ServerEndpoint::recv(std::span<std::byte> buf) {
  for (;;) {
    Message m = next();
    if (dbus_message_is_method_call(m.get(), kInterface, "Echo")) {
      const std::size_t n = copy_payload(m.get(), buf);
      call_ = std::move(m);
      return n;
    }
    if (dbus_message_is_method_call(m.get(), kInterface, "Sink")) return copy_payload(m.get(), buf);
    if (dbus_message_is_method_call(m.get(), kInterface, "Sync")) {
      Message reply(dbus_message_new_method_return(m.get()));
      check_alloc(reply != nullptr);
      post(reply.get());
    } else if (client_left(m.get())) {
      throw peer_gone("dbus: the client's connection left the bus (NameOwnerChanged)");
    }
  }
}

bool ServerEndpoint::client_left(DBusMessage* m) {
  if (!dbus_message_is_signal(m, DBUS_INTERFACE_DBUS, "NameOwnerChanged")) return false;
  const char *name = nullptr, *old_owner = nullptr, *new_owner = nullptr;
  if (!dbus_message_get_args(m, nullptr, DBUS_TYPE_STRING, &name, DBUS_TYPE_STRING, &old_owner,
                             DBUS_TYPE_STRING, &new_owner, DBUS_TYPE_INVALID)) {
    return false;
  }
  return std::strcmp(name, kClientName) == 0 && new_owner[0] == '\0';
}

// ---- opening a side (child) ----

void limit_sizes(DBusConnection* c) {
  dbus_connection_set_exit_on_disconnect(c, FALSE);
  dbus_connection_set_max_message_size(c, kMaxMessageBytes);
  dbus_connection_set_max_received_size(c, 2 * kMaxMessageBytes);
}

Connection connect_to(const std::string& address) {
  Error err;
  Connection conn(dbus_connection_open_private(address.c_str(), &err.e));
  if (conn.get() == nullptr)
    throw std::runtime_error("dbus_connection_open_private " + address + ": " + err.describe());
  limit_sizes(conn.get());
  return conn;
}

// A private connection to the bus, registered (Hello), owning `name`.
Connection join_bus(const std::string& address, const char* name) {
  Connection conn = connect_to(address);
  Error err;
  if (!dbus_bus_register(conn.get(), &err.e))
    throw std::runtime_error("dbus_bus_register (Hello): " + err.describe());
  const int got = dbus_bus_request_name(conn.get(), name, DBUS_NAME_FLAG_DO_NOT_QUEUE, &err.e);
  if (got != DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER) {
    throw std::runtime_error(std::string("dbus_bus_request_name ") + name + ": " +
                             (dbus_error_is_set(&err.e) ? err.describe() : "not the owner"));
  }
  return conn;
}

// The server's bus connection, watching the client's name leave.
Connection serve_on_bus(const std::string& address) {
  Connection conn = join_bus(address, kServerName);
  const std::string rule = std::string("type='signal',sender='") + DBUS_SERVICE_DBUS +
                           "',interface='" + DBUS_INTERFACE_DBUS +
                           "',member='NameOwnerChanged',arg0='" + kClientName + "'";
  Error err;
  dbus_bus_add_match(conn.get(), rule.c_str(), &err.e);
  if (dbus_error_is_set(&err.e)) throw std::runtime_error("dbus_bus_add_match: " + err.describe());
  return conn;
}

// dbus_p2p's listener: one connection accepted, by polling the server's watches (a
// DBusServer has no blocking accept; this is the main loop it expects, cut to one).
struct Listener {
  std::vector<DBusWatch*> watches;
  DBusConnection* accepted = nullptr;
};

DBusServer* listen_p2p(const std::string& path, Listener& l) {
  Error err;
  const std::string address = "unix:path=" + path;
  const mode_t old = ::umask(0177);  // the socket file bound 0600 (this child has one thread)
  DBusServer* server = dbus_server_listen(address.c_str(), &err.e);
  ::umask(old);
  if (server == nullptr)
    throw std::runtime_error("dbus_server_listen " + address + ": " + err.describe());
  // libdbus opens the socket file to 0777 once it listens ("we rely on the
  // authentication"); owner-only again, before anyone is told it is there.
  if (::chmod(path.c_str(), 0600) < 0) throw SysError("chmod 0600", path);
  const char* external_only[] = {"EXTERNAL", nullptr};
  check_alloc(dbus_server_set_auth_mechanisms(server, external_only));
  dbus_server_set_new_connection_function(
      server,
      [](DBusServer*, DBusConnection* c, void* data) {
        static_cast<Listener*>(data)->accepted = dbus_connection_ref(c);
      },
      &l, nullptr);
  const auto add = [](DBusWatch* w, void* data) -> dbus_bool_t {
    static_cast<Listener*>(data)->watches.push_back(w);
    return TRUE;
  };
  check_alloc(dbus_server_set_watch_functions(server, add, nullptr, nullptr, &l, nullptr));
  return server;
}

Connection accept_p2p(Listener& l) {
  std::vector<pollfd> fds;
  while (l.accepted == nullptr) {
    fds.clear();
    for (DBusWatch* w : l.watches) fds.push_back({dbus_watch_get_unix_fd(w), POLLIN, 0});
    if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR)
      throw SysError("poll", "dbus_p2p listener");
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents != 0 && dbus_watch_get_enabled(l.watches[i]))
        dbus_watch_handle(l.watches[i], DBUS_WATCH_READABLE);
    }
  }
  Connection conn(l.accepted);
  limit_sizes(conn.get());
  return conn;
}

// ---- the daemon (orchestrator) ----

// A dbus-daemon child: killed and reaped by the destructor.
class Daemon {
 public:
  Daemon() = default;
  explicit Daemon(pid_t pid) noexcept : pid_(pid) {}
  Daemon(Daemon&& o) noexcept : pid_(std::exchange(o.pid_, -1)) {}
  Daemon& operator=(Daemon&& o) noexcept {
    std::swap(pid_, o.pid_);
    return *this;
  }
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;
  ~Daemon() { stop(); }
  // Kills and reaps it; the exit status as waitpid gives it, -1 when there is none.
  int stop() noexcept {
    int status = -1;
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
    }
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_ = -1;
};

// A new file, 0600 whatever the umask, never one already there.
UniqueFd create_private_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) throw SysError("open", path);
  if (::fchmod(fd.get(), 0600) < 0) throw SysError("fchmod", path);
  return fd;
}

std::string bus_config() {
  return R"(<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>systemd:</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
  <limit name="max_message_size">)" +
         std::to_string(kMaxMessageBytes) + R"(</limit>
  <limit name="max_incoming_bytes">1000000000</limit>
  <limit name="max_outgoing_bytes">1000000000</limit>
</busconfig>
)";
}

// dbus-daemon's path, found in PATH before fork (execv after fork, no search there).
std::string find_dbus_daemon() {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const std::string exe = (dir.empty() ? "." : dir) + "/dbus-daemon";
    if (::access(exe.c_str(), X_OK) == 0) return exe;
  }
  throw NotRunnable("dbus: no dbus-daemon in PATH (Debian package dbus-daemon)");
}

// What the daemon's exec needs, all prepared before fork (after fork, until exec, only
// async-signal-safe calls): argv, and the environment with systemd's socket-activation
// variables, LISTEN_PID filled in by the child (sd_listen_fds checks it is its own pid).
struct DaemonExec {
  std::vector<std::string> args, env;
  std::vector<char*> argv, envp;
  char* pid_digits = nullptr;  // inside env's "LISTEN_PID=" entry, room for 20 digits
};

DaemonExec daemon_exec(const std::string& config) {
  DaemonExec x;
  x.args = {find_dbus_daemon(), "--config-file=" + config, "--nofork", "--nopidfile",
            "--nosyslog",       "--print-address=4"};
  for (char** e = environ; *e != nullptr; ++e) {
    if (!std::string_view(*e).starts_with("LISTEN_")) x.env.emplace_back(*e);
  }
  x.env.emplace_back("LISTEN_FDS=1");
  x.env.emplace_back("LISTEN_PID=" + std::string(20, '\0'));
  for (std::string& a : x.args) x.argv.push_back(a.data());
  for (std::string& e : x.env) x.envp.push_back(e.data());
  x.argv.push_back(nullptr);
  x.envp.push_back(nullptr);
  x.pid_digits = x.env.back().data() + std::strlen("LISTEN_PID=");
  return x;
}

// Runs between fork and exec: async-signal-safe calls only. fds: stdin, stdout and
// stderr, the listening socket (3, SD_LISTEN_FDS_START), the address pipe (4).
[[noreturn]] void exec_daemon(pid_t parent, const int (&fds)[5], DaemonExec& x) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(126);  // the orchestrator died before prctl
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  int high[5];  // out of the way first, so that no dup2 below overwrites a source
  for (int i = 0; i < 5; ++i) {
    if ((high[i] = ::fcntl(fds[i], F_DUPFD, 10)) < 0) ::_exit(126);
  }
  for (int i = 0; i < 5; ++i) {
    if (::dup2(high[i], i) < 0) ::_exit(126);
  }
  ::syscall(SYS_close_range, 5u, ~0u, 0u);  // nothing else of ours in the daemon
  char digits[20];
  int n = 0;
  for (pid_t pid = ::getpid(); pid > 0; pid /= 10) digits[n++] = static_cast<char>('0' + pid % 10);
  for (int i = 0; i < n; ++i) x.pid_digits[i] = digits[n - 1 - i];
  ::execve(x.argv[0], x.argv.data(), x.envp.data());
  ::_exit(127);
}

// The daemon's first line of output, for an error.
std::string first_line_of(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line.empty() ? "no output" : line;
}

// Reads the address the daemon prints once it listens (a line on `fd`); "" when the
// pipe closes or kDaemonStartMs pass first.
std::string read_address(int fd) {
  std::string address;
  char chunk[256];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, kDaemonStartMs);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return "";
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return "";
    address.append(chunk, static_cast<std::size_t>(n));
    if (const std::size_t nl = address.find('\n'); nl != std::string::npos) {
      address.resize(nl);
      return address;
    }
  }
}

struct Started {
  Daemon daemon;
  std::string address;
};

// Starts dbus-daemon on `config`, listening on `socket` (systemd socket activation:
// the socket is ours, bound 0600; libdbus would chmod a socket it binds itself to 0777),
// its output in `log`; returns once it is ready.
Started start_daemon(const std::string& config, int socket, const std::string& log) {
  DaemonExec x = daemon_exec(config);
  UniqueFd null_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!null_fd) throw SysError("open", "/dev/null");
  UniqueFd log_fd = create_private_file(log);
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) throw SysError("pipe2", "dbus-daemon address");
  UniqueFd address_read(p[0]), address_write(p[1]);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw SysError("fork", "dbus-daemon");
  if (pid == 0) {
    const int fds[5] = {null_fd.get(), log_fd.get(), log_fd.get(), socket, address_write.get()};
    exec_daemon(parent, fds, x);
  }
  Started s{Daemon(pid), {}};
  address_write.reset();
  s.address = read_address(address_read.get());
  if (s.address.empty()) {
    const int status = s.daemon.stop();
    const std::string how = WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                              : "no address within 10 s";
    throw NotRunnable("dbus: dbus-daemon did not start (" + how + "): " + first_line_of(log));
  }
  return s;
}

// ---- the channel (orchestrator) ----

class DbusChannel final : public Channel {
 public:
  DbusChannel(const ChannelConfig& cfg, Variant variant);
  std::unique_ptr<Endpoint> open(Side side) override;
  void forked() override {
    ready_read_.reset();
    ready_write_.reset();
  }

 private:
  std::unique_ptr<Endpoint> open_server();
  std::unique_ptr<Endpoint> open_client();

  Variant variant_;
  Pattern pattern_;
  std::uint64_t window_;
  // Removed in reverse order: the daemon is killed before its names go.
  OwnedName dir_, socket_, config_, log_;
  Daemon daemon_;
  std::string address_;
  UniqueFd ready_read_, ready_write_;
};

DbusChannel::DbusChannel(const ChannelConfig& cfg, Variant variant)
    : variant_(variant),
      pattern_(cfg.pattern),
      window_(cfg.pattern == Pattern::pingpong ? 1
                                               : std::max<std::uint64_t>(cfg.capacity_msgs, 1)) {
  if (cfg.msg_bytes > kMaxPayloadBytes) {
    throw NotRunnable("dbus: a D-Bus array holds at most 64 MiB (DBUS_MAXIMUM_ARRAY_LENGTH = " +
                      std::to_string(kMaxPayloadBytes) + " bytes)");
  }
  std::string dir = "/tmp/ipcbench-" + std::to_string(::getpid()) + "-XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr) throw SysError("mkdtemp", dir);  // mode 0700
  dir_ = OwnedName(dir, ::rmdir);
  const std::string socket = dir + (variant == Variant::bus ? "/bus" : "/p2p");
  address_ = "unix:path=" + socket;
  if (variant == Variant::p2p) socket_ = OwnedName(socket, ::unlink);  // the server binds it
  if (variant == Variant::bus) {
    config_ = OwnedName(dir + "/bus.conf", ::unlink);
    const std::string text = bus_config();
    UniqueFd fd = create_private_file(config_.str());
    if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
      throw SysError("write", config_.str());
    UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!listener) throw SysError("socket", "AF_UNIX SOCK_STREAM");
    bind_unix_owner_only(listener.get(), socket);  // refuses a name already there
    socket_ = OwnedName(socket, ::unlink);
    if (::listen(listener.get(), SOMAXCONN) < 0) throw SysError("listen", socket);
    log_ = OwnedName(dir + "/daemon.log", ::unlink);
    Started s = start_daemon(config_.str(), listener.get(), log_.str());
    daemon_ = std::move(s.daemon);
    address_ = s.address;
  }
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) throw SysError("pipe2", "dbus ready pipe");
  ready_read_.reset(p[0]);
  ready_write_.reset(p[1]);
  granted_.capacity_msgs = window_;
  granted_.capacity_bytes = window_ * cfg.msg_bytes;
}

std::unique_ptr<Endpoint> DbusChannel::open(Side side) {
  std::unique_ptr<Endpoint> ep = side == Side::a ? open_client() : open_server();
  forked();
  return ep;
}

std::unique_ptr<Endpoint> DbusChannel::open_server() {
  ready_read_.reset();
  if (variant_ == Variant::bus) {
    Connection conn = serve_on_bus(address_);
    const char ready = 1;
    if (::write(ready_write_.get(), &ready, 1) != 1) throw SysError("write", "dbus ready pipe");
    return std::make_unique<ServerEndpoint>(std::move(conn), nullptr);
  }
  auto listener = std::make_unique<Listener>();  // libdbus keeps its address
  DBusServer* server = listen_p2p(socket_.str(), *listener);
  const char ready = 1;
  if (::write(ready_write_.get(), &ready, 1) != 1) throw SysError("write", "dbus ready pipe");
  Connection conn = accept_p2p(*listener);
  listener.release();  // the server's callbacks may still use it while the child lives
  return std::make_unique<ServerEndpoint>(std::move(conn), server);
}

std::unique_ptr<Endpoint> DbusChannel::open_client() {
  ready_write_.reset();
  char ready = 0;
  ssize_t n;
  while ((n = ::read(ready_read_.get(), &ready, 1)) < 0 && errno == EINTR) {
  }
  if (n != 1) throw peer_gone("dbus: the server ended before it was ready");
  if (variant_ == Variant::bus) {
    return std::make_unique<ClientEndpoint>(join_bus(address_, kClientName), kServerName, pattern_,
                                            window_);
  }
  return std::make_unique<ClientEndpoint>(connect_to(address_), nullptr, pattern_, window_);
}

constexpr std::string_view kDbusKnob =
    "stream: capacity NO_REPLY calls, then a Sync call waits; pingpong: 1 call (libdbus and "
    "dbus-daemon queues are unbounded up to 1 GB, not a knob)";

}  // namespace

const Mechanism kDbus{
    .name = "dbus",
    .summary = "D-Bus method calls (libdbus) through a private dbus-daemon started per channel",
    .capacity_knob = kDbusKnob,
    .order = 650,
    .family = kFamilyLibrary,
    .transport = "unix_stream",
    .waits = WaitModes{WaitMode::block},  // libdbus waits in poll(); no spin mode
    .create = create_channel<DbusChannel, Variant::bus>,
};
const Registration kDbusRegistration{kDbus};

const Mechanism kDbusP2p{
    .name = "dbus_p2p",
    .summary = "D-Bus method calls (libdbus) over a direct peer-to-peer connection, no daemon",
    .capacity_knob = kDbusKnob,
    .order = 660,
    .family = kFamilyLibrary,
    .transport = "unix_stream",
    .waits = WaitModes{WaitMode::block},
    .create = create_channel<DbusChannel, Variant::p2p>,
};
const Registration kDbusP2pRegistration{kDbusP2p};

}  // namespace ipcbench
