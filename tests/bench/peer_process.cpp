#include "tests/bench/peer_process.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace fusion::bench {

namespace {

using steady = std::chrono::steady_clock;

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

std::optional<peer_process> peer_process::start(const std::vector<std::string>& args,
                                                std::string& why) {
  int out[2] = {-1, -1};
  int in[2] = {-1, -1};
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(in, O_CLOEXEC) != 0) {
    why = std::string{"pipe: "} + std::strerror(errno);
    for (int fd : {out[0], out[1], in[0], in[1]})
      if (fd >= 0) ::close(fd);
    return std::nullopt;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // dup2 clears close-on-exec on the copies; the originals close at exec.
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
  std::vector<std::string> all{"fusion-bench"};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  // /proc/self/exe is resolved in the new process, before exec: this very binary.
  int rc = posix_spawn(&pid, "/proc/self/exe", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  ::close(in[0]);
  if (rc != 0) {
    why = std::string{"cannot start /proc/self/exe: "} + std::strerror(rc);
    ::close(out[0]);
    ::close(in[1]);
    return std::nullopt;
  }
  return peer_process{pid, out[0], in[1]};
}

std::optional<std::string> peer_process::read_line(std::chrono::milliseconds timeout,
                                                   std::string& why) {
  auto deadline = steady::now() + timeout;
  for (;;) {
    if (auto nl = buffered_.find('\n'); nl != std::string::npos) {
      auto line = buffered_.substr(0, nl);
      buffered_.erase(0, nl + 1);
      return line;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
    if (out_fd_ < 0 || left.count() <= 0) {
      why = "the peer process (pid " + std::to_string(pid_) + ") said nothing within " +
            std::to_string(timeout.count()) + " ms";
      return std::nullopt;
    }
    pollfd p{out_fd_, POLLIN, 0};
    int n = poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno != EINTR) {
      why = std::string{"poll: "} + std::strerror(errno);
      return std::nullopt;
    }
    if (n <= 0) continue;
    char buf[512];
    auto got = ::read(out_fd_, buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      close_fd(out_fd_);
      auto pid = pid_;
      // Closed stdout: the peer has exited or is about to; give it a moment to be reaped.
      std::optional<std::string> end;
      for (int i = 0; i < 100 && !(end = try_reap()); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds{10});
      why = "the peer process (pid " + std::to_string(pid) + ") ended before it was ready (" +
            (end ? *end : std::string{"closed its stdout"}) + ")";
      return std::nullopt;
    }
    buffered_.append(buf, static_cast<std::size_t>(got));
    if (buffered_.size() > 64 * 1024) {
      why = "the peer process wrote a line longer than 64 KiB";
      return std::nullopt;
    }
  }
}

std::optional<std::string> peer_process::try_reap() {
  if (pid_ <= 0) return std::string{"stopped"};
  int status = 0;
  auto r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    pid_ = 0;
    return describe_status(status);
  }
  if (r < 0 && errno != EINTR) {
    pid_ = 0;
    return std::string{"waitpid: "} + std::strerror(errno);
  }
  return std::nullopt;
}

std::string peer_process::stop(std::chrono::milliseconds timeout) {
  close_fd(in_fd_);
  close_fd(out_fd_);
  if (pid_ <= 0) return "stopped";
  if (auto end = try_reap()) return *end;
  ::kill(pid_, SIGKILL);
  auto deadline = steady::now() + timeout;
  while (steady::now() < deadline) {
    if (auto end = try_reap()) return *end;
    std::this_thread::sleep_for(std::chrono::milliseconds{2});
  }
  auto lost = "pid " + std::to_string(pid_) + " not reaped within " +
              std::to_string(timeout.count()) + " ms of SIGKILL";
  pid_ = 0;  // never wait for it again
  return lost;
}

peer_process::peer_process(peer_process&& other) noexcept
    : pid_(other.pid_),
      out_fd_(other.out_fd_),
      in_fd_(other.in_fd_),
      buffered_(std::move(other.buffered_)) {
  other.pid_ = 0;
  other.out_fd_ = other.in_fd_ = -1;
}

peer_process::~peer_process() {
  stop();
}

}  // namespace fusion::bench
