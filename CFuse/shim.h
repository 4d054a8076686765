#ifndef VFIO_AP_SIM_CFUSE_SHIM_H
#define VFIO_AP_SIM_CFUSE_SHIM_H

// FUSE_USE_VERSION 312: the libfuse 3.12+ API (FuseServer runs its own
// session loop, SessionLoop, on fuse_session_receive_buf/process_buf).
#define FUSE_USE_VERSION 312
#include <fuse3/fuse_lowlevel.h>
#include <sys/stat.h>
#include <errno.h>

#endif
