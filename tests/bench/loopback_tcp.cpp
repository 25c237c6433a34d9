// Raw TCP over loopback, the transport ceiling the sealed link and BASP are compared with:
// plain blocking POSIX sockets, a 4-byte big-endian length before each 200-byte message,
// the sender writing up to 64 KiB at once and the receiver reading 64 KiB at once.

#include "tests/bench/link_loopback.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

namespace fusion::bench::loopback {

namespace {

using steady = std::chrono::steady_clock;

constexpr std::size_t io_size = 64 * 1024;
constexpr std::size_t header_bytes = 4;
// Frames longer than this close the connection (the bench only sends message_bytes).
constexpr uint32_t max_body = 64 * 1024;

std::string errno_text(const char* what) {
  return std::string{what} + ": " + std::strerror(errno);
}

sockaddr_in loopback_address(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// Blocking reads and writes give up after wait_limit instead of hanging on a stuck peer.
void set_deadlines(int fd) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(wait_limit.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((wait_limit.count() % 1000) * 1000);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

bool write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    auto w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

// Counts the frames of one connection until it ends.
void serve_connection(int fd) {
  set_deadlines(fd);
  std::vector<char> buf(io_size + header_bytes + max_body);
  std::size_t have = 0;
  uint64_t count = 0;
  for (;;) {
    auto got = ::recv(fd, buf.data() + have, buf.size() - have, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return;
    have += static_cast<std::size_t>(got);
    std::size_t at = 0;
    while (have - at >= header_bytes) {
      auto p = reinterpret_cast<const unsigned char*>(buf.data() + at);
      uint32_t len = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
      if (len == 0 || len > max_body) return;
      if (have - at - header_bytes < len) break;
      char kind = buf[at + header_bytes];
      at += header_bytes + len;
      ++count;
      if (kind == ack_me_kind) {
        char ack[8];
        put_be64(ack, count);
        if (!write_all(fd, ack, sizeof ack)) return;
      }
    }
    std::memmove(buf.data(), buf.data() + at, have - at);
    have -= at;
  }
}

}  // namespace

int listen_tcp_loopback(uint16_t& port, std::string& why) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    why = errno_text("socket");
    return -1;
  }
  auto a = loopback_address(0);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 8) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    why = errno_text("bind/listen on 127.0.0.1");
    ::close(fd);
    return -1;
  }
  port = ntohs(a.sin_port);
  return fd;
}

void serve_raw_tcp(int listener) {
  for (;;) {
    int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;
    }
    serve_connection(fd);
    ::close(fd);
  }
}

std::optional<double> raw_tcp_msgs_per_s(uint16_t port, std::size_t n, std::size_t window,
                                         std::string& why) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    why = errno_text("socket");
    return std::nullopt;
  }
  set_deadlines(fd);  // SO_SNDTIMEO also bounds connect()
  auto a = loopback_address(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    why = errno_text(("connect to 127.0.0.1:" + std::to_string(port)).c_str());
    ::close(fd);
    return std::nullopt;
  }
  const uint64_t ack_every = std::max<std::size_t>(1, window / 4);
  std::vector<char> frame(header_bytes + message_bytes, 'x');
  frame[0] = frame[1] = 0;
  frame[2] = static_cast<char>(message_bytes >> 8);
  frame[3] = static_cast<char>(message_bytes & 0xff);
  std::vector<char> out;
  out.reserve(io_size);
  char acks[io_size];
  std::size_t ack_have = 0;
  uint64_t sent = 0, acked = 0;
  // Reads what acks there are (blocking: waits for at least one); false on a failure.
  auto read_acks = [&](bool block) {
    auto got = ::recv(fd, acks + ack_have, sizeof acks - ack_have, block ? 0 : MSG_DONTWAIT);
    if (got < 0 && (errno == EINTR || (!block && (errno == EAGAIN || errno == EWOULDBLOCK))))
      return true;
    if (got <= 0) {
      why = got == 0 ? "the peer closed the connection"
                     : errno_text("waiting for an ack (SO_RCVTIMEO)");
      return false;
    }
    ack_have += static_cast<std::size_t>(got);
    std::size_t whole = ack_have / 8 * 8;
    if (whole > 0) acked = std::max(acked, get_be64(acks + whole - 8));
    std::memmove(acks, acks + whole, ack_have - whole);
    ack_have -= whole;
    return true;
  };
  auto start = steady::now();
  bool ok = true;
  while (ok && acked < n) {
    out.clear();
    while (sent < n && sent - acked < window && out.size() + frame.size() <= io_size) {
      ++sent;
      frame[header_bytes] = kind_of(sent, n, ack_every);
      out.insert(out.end(), frame.begin(), frame.end());
    }
    if (!out.empty() && !write_all(fd, out.data(), out.size())) {
      why = errno_text("write");
      ok = false;
      break;
    }
    ok = read_acks(sent == n || sent - acked >= window);
  }
  auto secs = std::chrono::duration<double>(steady::now() - start).count();
  ::close(fd);
  if (!ok) return std::nullopt;
  if (acked != n) {
    why = "the peer counted " + std::to_string(acked) + " of " + std::to_string(n) + " frames";
    return std::nullopt;
  }
  return static_cast<double>(n) / secs;
}

}  // namespace fusion::bench::loopback
