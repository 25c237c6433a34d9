#pragma once
// A benchmark's second process: this very binary (/proc/self/exe) started again with other
// arguments (a hidden subcommand), so that a figure can be measured between two processes
// over loopback from one `fusion-bench` run. The peer writes one line on its stdout when it
// is ready (for example the ports it listens on); it reads its stdin until EOF, so it ends
// by itself if the benchmark dies. Whatever happens, the peer is killed and reaped when the
// peer_process object goes away, and every wait has a deadline.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace fusion::bench {

/// A running peer process. Not copyable; killed (SIGKILL) and reaped by the destructor.
class peer_process {
 public:
  /// Starts /proc/self/exe with `args` (argv[1]...): its stdout and stdin are pipes to us,
  /// its stderr is ours. nullopt, with `why` set, if it cannot be started.
  static std::optional<peer_process> start(const std::vector<std::string>& args, std::string& why);

  /// Reads the peer's ready line (without the newline), waiting at most `timeout`; nullopt,
  /// with `why` set, if the peer exits, closes its stdout or is silent until the deadline.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout, std::string& why);

  /// Kills the peer (SIGKILL) and reaps it, waiting at most `timeout` for the kernel.
  /// Returns how it ended ("exit status 3", "killed by signal 9"). Idempotent.
  std::string stop(std::chrono::milliseconds timeout = std::chrono::milliseconds{5000});

  /// The peer's process id (0 once stopped).
  pid_t pid() const noexcept { return pid_; }

  peer_process(peer_process&& other) noexcept;
  peer_process& operator=(peer_process&&) = delete;
  peer_process(const peer_process&) = delete;
  peer_process& operator=(const peer_process&) = delete;
  ~peer_process();

 private:
  peer_process(pid_t pid, int out_fd, int in_fd) : pid_(pid), out_fd_(out_fd), in_fd_(in_fd) {}

  /// Reaps the peer if it has exited already; its end as text, or nullopt if it still runs.
  std::optional<std::string> try_reap();

  pid_t pid_ = 0;
  int out_fd_ = -1;  // the read end of the peer's stdout
  int in_fd_ = -1;   // the write end of the peer's stdin
  std::string buffered_;
};

}  // namespace fusion::bench
