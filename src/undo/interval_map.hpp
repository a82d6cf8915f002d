// IntervalMap: non-overlapping byte ranges [start, end) of a file, each with
// a payload; inserting a range replaces whatever it overlaps (newest wins).
// Used for the undo driver's write buffer (payload: the bytes) and for the
// read-only overlay of a pending journal (payload: where the bytes sit in the
// journal).
//
// A Payload provides `Payload slice(uint64_t skip, uint64_t len) const`.
#pragma once

#include <cstdint>
#include <iterator>
#include <map>
#include <utility>

namespace h5tx {
namespace undo {

template <typename Payload>
class IntervalMap {
 public:
  struct Piece {
    uint64_t end;
    Payload payload;
  };
  using Map = std::map<uint64_t, Piece>;  // key: start

  // Covers [start, start + len) with `payload`, cutting what it overlaps.
  void insert(uint64_t start, uint64_t len, Payload payload) {
    if (len == 0) return;
    erase(start, start + len);
    map_.emplace(start, Piece{start + len, std::move(payload)});
    bytes_ += len;
  }

  // Removes the bytes [from, to) (pieces straddling the bounds are cut).
  void erase(uint64_t from, uint64_t to) {
    if (from >= to || map_.empty()) return;
    auto it = map_.lower_bound(from);
    if (it != map_.begin()) {
      auto prev = std::prev(it);
      if (prev->second.end > from) it = prev;
    }
    while (it != map_.end() && it->first < to) {
      uint64_t s = it->first, e = it->second.end;
      Piece piece = std::move(it->second);
      it = map_.erase(it);
      bytes_ -= e - s;
      if (s < from) {
        map_.emplace(s, Piece{from, piece.payload.slice(0, from - s)});
        bytes_ += from - s;
      }
      if (e > to) {
        it = map_.emplace(to, Piece{e, piece.payload.slice(to - s, e - to)}).first;
        bytes_ += e - to;
        ++it;
      }
    }
  }

  // Calls fn(piece_start, piece_end, payload) for every piece meeting
  // [from, to), in address order (pieces are not clipped).
  template <typename Fn>
  void for_each_overlap(uint64_t from, uint64_t to, Fn&& fn) const {
    if (from >= to || map_.empty()) return;
    auto it = map_.lower_bound(from);
    if (it != map_.begin()) {
      auto prev = std::prev(it);
      if (prev->second.end > from) it = prev;
    }
    for (; it != map_.end() && it->first < to; ++it) fn(it->first, it->second.end, it->second.payload);
  }

  uint64_t max_end() const { return map_.empty() ? 0 : map_.rbegin()->second.end; }
  uint64_t bytes() const { return bytes_; }
  bool empty() const { return map_.empty(); }
  void clear() {
    map_.clear();
    bytes_ = 0;
  }
  const Map& pieces() const { return map_; }

 private:
  Map map_;
  uint64_t bytes_ = 0;
};

// Payload: the bytes themselves, held elsewhere (the driver's WriteArena).
struct BufferedBytes {
  const char* data;
  BufferedBytes slice(uint64_t skip, uint64_t) const { return BufferedBytes{data + skip}; }
};

// Payload: a position in another file (the journal).
struct FilePos {
  uint64_t pos;
  FilePos slice(uint64_t skip, uint64_t) const { return FilePos{pos + skip}; }
};

}  // namespace undo
}  // namespace h5tx
