// A helper process of the server (Debian's ffmpeg for recordings): started with fork and
// execve, its ports found and watched, ended in order. No CAF; the actor that owns the child
// (actors/media_recorder.cpp) drives these calls from its timer.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace chorus::actors::child_process {

// The binary's absolute path (execve needs one; PATH is searched here, before the fork).
std::string resolve_binary(const std::string& name);

// fork + execve; the child dies with SIGINT when the server does. -1 on failure. Its stdin
// is `stdin_fd` when given (a pipe), else /dev/null.
pid_t start_child(const std::string& binary, const std::vector<std::string>& args,
                  const std::string& log_path, int stdin_fd = -1);

// A UDP port p on 0.0.0.0 with p + 1 free too (ffmpeg binds both: RTP and RTCP).
uint16_t free_port_pair();

// Whether a UDP socket (the ffmpeg child's) is bound to IPv4 `port`: read from
// /proc/net/udp, so that checking never holds the port itself (a test bind could make the
// child's own bind fail at that very moment).
bool port_taken(uint16_t port);

// An RTCP BYE for `ssrc` to ffmpeg's RTP port: its SDP demuxer ends the input (EOF) when
// every stream said BYE, then writes the file's trailer and exits. On the RTP port, where
// ffmpeg reads RTCP too, the BYE queues behind the media sent before it, so the file keeps
// all of that; on the RTCP port it would be read first (ffmpeg serves that socket first)
// and cut off what still waited, down to a frame's parameter sets without its picture.
// A SIGINT is only seen between packets, and a second one would abort the trailer's writes.
void send_bye(uint16_t port, uint32_t ssrc);

// SIGINT now, SIGKILL after kill_after_ms, reaped: for children left when the recorder
// ends without a stop (the room ended). A detached thread, so nothing waits on it.
void stop_orphans(std::vector<pid_t> pids, int64_t kill_after_ms);

int exit_code_of(int status);

} // namespace chorus::actors::child_process
