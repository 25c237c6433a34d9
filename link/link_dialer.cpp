#include "link/link_dialer.hpp"

#include "link/link_broker.hpp"
#include "link/link_protocol.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/spawn_options.hpp>

#include <spdlog/logger.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace fusion::link {

namespace {

// Connects to host:port, trying each resolved address, all within `timeout` (the connect
// part; getaddrinfo is bounded by the resolver's own timeouts). Returns a connected,
// non-blocking socket, or -1 with `why` set. Runs on the dialer's own thread; the steady
// clock here only bounds real system calls.
int connect_with_deadline(const std::string& host, uint16_t port, std::chrono::milliseconds timeout,
                          std::string& why) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  auto service = std::to_string(port);
  if (int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0) {
    why = gai_strerror(rc);
    return -1;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int result = -1;
  why = "no address";
  for (auto* ai = found; ai != nullptr && result < 0; ai = ai->ai_next) {
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
      why = std::strerror(errno);
      continue;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      result = fd;
      break;
    }
    if (errno != EINPROGRESS) {
      why = std::strerror(errno);
      close(fd);
      continue;
    }
    bool timed_out = false;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        timed_out = true;
        break;
      }
      pollfd p{fd, POLLOUT, 0};
      int n = poll(&p, 1, static_cast<int>(left.count()));
      if (n > 0) break;
      if (n < 0 && errno != EINTR) break;
    }
    int err = 0;
    socklen_t len = sizeof err;
    if (timed_out) {
      why = "timed out after " + std::to_string(timeout.count()) + " ms";
    } else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
      why = std::strerror(errno);
    } else if (err != 0) {
      why = std::strerror(err);
    } else {
      result = fd;
      break;
    }
    close(fd);
    if (timed_out) break;
  }
  freeaddrinfo(found);
  return result;
}

// The dialer: connects on its own thread, hands the socket to a new initiator link, quits.
void dialer(caf::event_based_actor* self, std::string host, uint16_t port, caf::actor owner,
            std::shared_ptr<const link_context> ctx, std::optional<public_key> expected_peer) {
  auto remote = host + ":" + std::to_string(port);
  std::string why;
  int fd = connect_with_deadline(host, port, ctx->settings.dial_timeout, why);
  if (fd < 0) {
    ctx->counters->count_dial_failure();
    if (ctx->log) ctx->log->warn("link to {}: cannot connect: {}", remote, why);
    self->send(owner, link_down_atom::value, "cannot connect to " + remote + ": " + why);
    return;
  }
  self->system().middleman().spawn_broker(link_initiator_fd, fd, std::move(owner), std::move(ctx),
                                          std::move(remote), std::move(expected_peer));
}

}  // namespace

caf::actor dial(caf::actor_system& sys, const std::string& host, uint16_t port, caf::actor owner,
                std::shared_ptr<const link_context> ctx, std::optional<public_key> expected_peer) {
  return sys.spawn<caf::detached>(dialer, host, port, std::move(owner), std::move(ctx),
                                  std::move(expected_peer));
}

}  // namespace fusion::link
