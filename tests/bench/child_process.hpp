#pragma once
// A child process of a benchmark (fusion-bench placement --zone-nodes starts fusion-node
// processes): started from an argument vector with its output in a file, always stopped by
// its pid (SIGTERM, then SIGKILL after a grace period) and reaped, also when the benchmark
// fails; killed by the kernel if the benchmark itself dies first.

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace fusion::bench {

/// One running child process; stop() (or destruction) ends it.
class child_process {
 public:
  /// Starts `argv[0]` with arguments `argv`, stdin from /dev/null, stdout and stderr into
  /// `log_path`. nullptr and `error` set when it cannot be started (fork or exec failed).
  static std::unique_ptr<child_process> start(const std::vector<std::string>& argv,
                                              const std::string& log_path, std::string& error);

  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;
  ~child_process() { stop(); }

  /// The process id.
  pid_t pid() const { return pid_; }

  /// Whether it still runs; once it ended, how() says how ("exited with status 3").
  bool running();

  /// How the process ended ("" while it runs).
  const std::string& how() const { return how_; }

  /// SIGTERM, then SIGKILL if it has not ended after `grace`; reaps it. Idempotent.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds{5});

  /// CPU seconds (user + system) the process has used so far; 0 once it ended.
  double cpu_seconds() const;

  /// The last `lines` lines of its output file.
  std::string log_tail(size_t lines) const;

 private:
  child_process(pid_t pid, std::string log_path) : pid_(pid), log_path_(std::move(log_path)) {}
  void reaped(int status);

  pid_t pid_;
  std::string log_path_;
  bool ended_ = false;
  std::string how_;
};

}  // namespace fusion::bench
