#ifndef VFIO_AP_SIM_CFUSE_SHIM_H
#define VFIO_AP_SIM_CFUSE_SHIM_H

// FUSE_USE_VERSION 312 gives the fuse_loop_cfg_* API; below it the
// multi-threaded loop starts a thread per request (see design notes).
#define FUSE_USE_VERSION 312
#include <fuse3/fuse_lowlevel.h>
#include <sys/stat.h>
#include <errno.h>

// fuse_session_loop_mt is a macro over versioned symbols, invisible to Swift.
static inline int cfuse_session_loop_mt(struct fuse_session *se,
                                        struct fuse_loop_config *config) {
    return fuse_session_loop_mt(se, config);
}

#endif
