// Loaded into iox-roudi (LD_PRELOAD) by mechanisms/iceoryx.cpp, and into nothing else.
// iceoryx 2.0 creates its segments and sockets 0660: it sets its own umask around each
// creation, and gives the payload segment an ACL for the group; no setting of 2.0
// changes either. Here every umask RouDi sets keeps the group and other bits masked,
// and its ACLs are not applied, so what RouDi creates is owner-only from the first
// moment, as every object of ipcbench's. (The sides' own objects: iceoryx.cpp's umask.)
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

extern "C" {

mode_t umask(mode_t mask) noexcept { return static_cast<mode_t>(::syscall(SYS_umask, mask | 077)); }

// libacl's acl_set_fd (iceoryx grants its group read and write on the payload segment):
// not applied. Success, so RouDi goes on with the owner's rights only, which are all
// the sides (the same user) need.
int acl_set_fd(int, void*) noexcept { return 0; }

}  // extern "C"
