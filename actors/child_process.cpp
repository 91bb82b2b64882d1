#include "actors/child_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string_view>
#include <thread>

namespace chorus::actors::child_process {

std::string resolve_binary(const std::string& name) {
  if (name.find('/') != std::string::npos)
    return name;
  const char* path = std::getenv("PATH");
  std::string_view dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!dirs.empty()) {
    auto colon = dirs.find(':');
    std::string dir(dirs.substr(0, colon));
    if (!dir.empty()) {
      std::string full = dir + "/" + name;
      if (::access(full.c_str(), X_OK) == 0)
        return full;
    }
    if (colon == std::string_view::npos)
      break;
    dirs.remove_prefix(colon + 1);
  }
  return {};
}

pid_t start_child(const std::string& binary, const std::vector<std::string>& args,
                  const std::string& log_path, int stdin_fd) {
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (auto& a : args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  const pid_t parent = ::getpid();
  // Every signal blocked across the fork: until it has execve'd, the child runs the server's
  // signal handlers, and the server's handler writes to the pipe its signal set reads, which
  // the child shares until close_range. A SIGINT sent to a child that had not yet execve'd
  // (a recording stopped at once: disk full) then shut the server down. The child resets
  // every handler before unblocking; a signal sent meanwhile waits, then acts as on ffmpeg.
  sigset_t all, before;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &before);
  pid_t pid = ::fork();
  if (pid == 0) {
    // Only async-signal-safe calls from here to execve.
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    for (int sig = 1; sig < NSIG; ++sig)
      ::sigaction(sig, &dfl, nullptr); // (SIGKILL, SIGSTOP and the reserved ones refuse)
    ::prctl(PR_SET_PDEATHSIG, SIGINT);
    if (::getppid() != parent)
      ::_exit(127);
    ::setpgid(0, 0); // a terminal's Ctrl-C reaches the server, which stops us in order
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (stdin_fd >= 0)
      ::dup2(stdin_fd, 0);
    if (null_fd >= 0) {
      if (stdin_fd < 0)
        ::dup2(null_fd, 0);
      ::dup2(null_fd, 1);
    }
    if (log_fd >= 0)
      ::dup2(log_fd, 2);
    ::close_range(3, ~0U, 0); // none of the server's sockets and files
    ::execve(binary.c_str(), argv.data(), environ);
    ::_exit(127);
  }
  ::pthread_sigmask(SIG_SETMASK, &before, nullptr);
  if (log_fd >= 0)
    ::close(log_fd);
  if (null_fd >= 0)
    ::close(null_fd);
  return pid;
}

uint16_t free_port_pair() {
  for (int attempt = 0; attempt < 64; ++attempt) {
    int a = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (a < 0)
      return 0;
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_ANY);
    sa.sin_port = 0;
    socklen_t len = sizeof sa;
    if (::bind(a, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
        ::getsockname(a, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
      ::close(a);
      continue;
    }
    uint16_t p = ntohs(sa.sin_port);
    if (p >= 65535) {
      ::close(a);
      continue;
    }
    int b = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in sb = sa;
    sb.sin_port = htons(uint16_t(p + 1));
    bool ok = b >= 0 && ::bind(b, reinterpret_cast<sockaddr*>(&sb), sizeof sb) == 0;
    if (b >= 0)
      ::close(b);
    ::close(a);
    if (ok)
      return p;
  }
  return 0;
}

bool port_taken(uint16_t port) {
  std::ifstream in("/proc/net/udp");
  std::string line;
  std::getline(in, line); // header
  char want[6];
  std::snprintf(want, sizeof want, ":%04X", unsigned(port));
  while (std::getline(in, line)) {
    // "  sl  local_address rem_address ...": local_address is HEXIP:HEXPORT
    auto colon = line.find(':');                 // after "sl"
    if (colon == std::string::npos)
      continue;
    auto start = line.find_first_not_of(' ', colon + 1);
    if (start == std::string::npos)
      continue;
    auto end = line.find(' ', start);
    auto local = line.substr(start, end - start); // "0100007F:BD4F"
    if (local.size() >= 5 && local.compare(local.size() - 5, 5, want) == 0)
      return true;
  }
  return false;
}

void send_bye(uint16_t port, uint32_t ssrc) {
  if (port == 0)
    return;
  int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0)
    return;
  // A compound packet, an empty RR then the BYE: ffmpeg drops datagrams under 12 bytes.
  const uint8_t a = uint8_t(ssrc >> 24), b = uint8_t(ssrc >> 16), c = uint8_t(ssrc >> 8),
                d = uint8_t(ssrc);
  const uint8_t bye[16] = {0x80, 201, 0, 1, a, b, c, d, 0x81, 203, 0, 1, a, b, c, d};
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons(port);
  ::sendto(s, bye, sizeof bye, 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  ::close(s);
}

void stop_orphans(std::vector<pid_t> pids, int64_t kill_after_ms) {
  if (pids.empty())
    return;
  for (auto pid : pids)
    ::kill(pid, SIGINT);
  std::thread([pids = std::move(pids), kill_after_ms] {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kill_after_ms);
    std::vector<pid_t> left = pids;
    while (!left.empty()) {
      std::erase_if(left, [](pid_t pid) {
        int status = 0;
        return ::waitpid(pid, &status, WNOHANG) != 0;
      });
      if (left.empty())
        break;
      if (std::chrono::steady_clock::now() > deadline) {
        for (auto pid : left) {
          ::kill(pid, SIGKILL);
          int status = 0;
          ::waitpid(pid, &status, 0);
        }
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }).detach();
}

int exit_code_of(int status) {
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return -1;
}

} // namespace chorus::actors::child_process
