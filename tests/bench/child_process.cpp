#include "tests/bench/child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <sstream>
#include <thread>

namespace fusion::bench {

std::unique_ptr<child_process> child_process::start(const std::vector<std::string>& argv,
                                                    const std::string& log_path,
                                                    std::string& error) {
  if (argv.empty()) {
    error = "no program to start";
    return nullptr;
  }
  // Everything the child needs is prepared before fork(): between fork and exec a child of
  // a multi-threaded process may only make async-signal-safe calls.
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int out = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (out < 0) {
    error = "cannot create " + log_path + ": " + std::strerror(errno);
    return nullptr;
  }
  int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  // exec failures come back through this pipe; a successful exec closes it (O_CLOEXEC).
  int report[2];
  if (in < 0 || ::pipe2(report, O_CLOEXEC) != 0) {
    error = std::string{"cannot prepare the child's files: "} + std::strerror(errno);
    ::close(out);
    if (in >= 0) ::close(in);
    return nullptr;
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    // The kernel kills the child if the benchmark dies without stopping it.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(in, STDIN_FILENO);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(out, STDERR_FILENO);
    // CAF-free signal state: fusion-node blocks SIGTERM itself and waits for it.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execv(args[0], args.data());
    int err = errno;
    [[maybe_unused]] auto n = ::write(report[1], &err, sizeof err);
    ::_exit(127);
  }
  int fork_errno = errno;
  ::close(out);
  ::close(in);
  ::close(report[1]);
  if (pid < 0) {
    ::close(report[0]);
    error = std::string{"fork failed: "} + std::strerror(fork_errno);
    return nullptr;
  }
  int exec_errno = 0;
  ssize_t got;
  do {
    got = ::read(report[0], &exec_errno, sizeof exec_errno);
  } while (got < 0 && errno == EINTR);
  ::close(report[0]);
  if (got > 0) {
    ::waitpid(pid, nullptr, 0);
    error = "cannot run " + argv[0] + ": " + std::strerror(exec_errno);
    return nullptr;
  }
  return std::unique_ptr<child_process>{new child_process{pid, log_path}};
}

void child_process::reaped(int status) {
  ended_ = true;
  if (WIFEXITED(status))
    how_ = "exited with status " + std::to_string(WEXITSTATUS(status));
  else if (WIFSIGNALED(status))
    how_ = std::string{"was killed by signal "} + ::strsignal(WTERMSIG(status));
  else
    how_ = "ended";
}

bool child_process::running() {
  if (ended_) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) reaped(status);
  return !ended_;
}

void child_process::stop(std::chrono::milliseconds grace) {
  if (!running()) return;
  ::kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (running() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  if (ended_) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reaped(status);
}

double child_process::cpu_seconds() const {
  if (ended_) return 0;
  std::ifstream in{"/proc/" + std::to_string(pid_) + "/stat"};
  std::string stat{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  // Fields after the command name (which may hold spaces, so find its closing parenthesis):
  // state is the first; utime and stime (clock ticks) are the 12th and 13th.
  auto close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields{stat.substr(close + 1)};
  std::string skip;
  for (int i = 0; i < 11; ++i) fields >> skip;
  double utime = 0;
  double stime = 0;
  fields >> utime >> stime;
  return (utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

std::string child_process::log_tail(size_t lines) const {
  std::ifstream in{log_path_};
  std::deque<std::string> tail;
  for (std::string line; std::getline(in, line);) {
    tail.push_back(std::move(line));
    if (tail.size() > lines) tail.pop_front();
  }
  std::string out;
  for (const auto& l : tail) out += "  | " + l + "\n";
  return out;
}

}  // namespace fusion::bench
