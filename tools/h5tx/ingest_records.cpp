// The resume records of `h5tx ingest` (ingest_records.hpp).
#include "ingest_records.hpp"

#include <algorithm>
#include <map>

#include "args.hpp"
#include "h5tx/error.hpp"

namespace h5tx {
namespace cli {

const char kMetaId[] = "h5tx.ingest.id";
const char kMetaRun[] = "h5tx.ingest.run";
const char kMetaChunks[] = "h5tx.ingest.chunks";
const char kMetaTarget[] = "h5tx.ingest.target";

namespace {

const char kSlots[] = "/slots/";
const char kFinishedPrefix[] = "finished.";
const char kRunning[] = "running";
const char kFree[] = "free";

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

[[noreturn]] void bad(const std::string& object, const std::string& what) {
  throw CorruptionError(std::string(kIngestFile) + ":" + object, what);
}

bool is_hex_id(const std::string& s) {
  return s.size() == 16 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// A decimal number of at most 19 digits (no sign, no spaces).
bool parse_u64(const std::string& s, uint64_t* out) {
  if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string::npos) return false;
  *out = std::stoull(s);
  return true;
}

uint32_t parse_u32(const std::string& object, const std::string& what, const std::string& s) {
  uint64_t v = 0;
  if (!parse_u64(s, &v) || v == 0 || v >= UINT32_MAX)
    bad(object, what + " '" + s + "' is not a number 1..2^32-2");
  return uint32_t(v);
}

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '%')
      out += "%25";
    else if (c == '\n')
      out += "%0A";
    else
      out += c;
  }
  return out;
}

std::string unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == '%' && s.compare(i, 3, "%25") == 0) {
      out += '%';
      i += 2;
    } else if (s[i] == '%' && s.compare(i, 3, "%0A") == 0) {
      out += '\n';
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string text_attribute(Transaction& tx, const std::string& object, const std::vector<std::string>& names,
                           const std::string& name, bool required) {
  if (!contains(names, name)) {
    if (required) bad(object, "record has no '" + name + "' attribute");
    return "";
  }
  AttributeValue v = tx.get_attribute(kIngestFile, object, name);
  if (!v.is_string) bad(object, "attribute '" + name + "' is not a string");
  return v.text;
}

std::string encode_finished(const RunInfo& r) {
  return "run=" + std::to_string(r.run) + "\ntarget=" + escape(r.target) + "\ninput=" + escape(r.input) +
         "\nshape=" + escape(r.shape) + "\nchunk=" + escape(r.chunk) + "\nstart=" + escape(r.start) +
         "\nchunks=" + std::to_string(r.chunks) + "\n";
}

RunInfo decode_finished(const std::string& id, const std::string& text) {
  const std::string object = "/ attribute " + std::string(kFinishedPrefix) + id;
  std::map<std::string, std::string> kv;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) bad(object, "finished record does not end with a line break");
    std::string line = text.substr(pos, nl - pos);
    size_t eq = line.find('=');
    if (eq == std::string::npos) bad(object, "finished record line '" + line + "' is not key=value");
    kv[line.substr(0, eq)] = unescape(line.substr(eq + 1));
    pos = nl + 1;
  }
  for (const char* key : {"run", "target", "input", "shape", "chunk", "start", "chunks"})
    if (!kv.count(key)) bad(object, std::string("finished record has no '") + key + "'");
  RunInfo r;
  r.id = id;
  r.run = parse_u32(object, "run", kv["run"]);
  r.target = kv["target"];
  r.input = kv["input"];
  r.shape = kv["shape"];
  r.chunk = kv["chunk"];
  r.start = kv["start"];
  if (!parse_u64(kv["chunks"], &r.chunks)) bad(object, "chunks '" + kv["chunks"] + "' is not a number");
  return r;
}

struct Slot {
  std::string path;
  uint64_t index = 0;
  bool running = false;
  RunInfo info;  // when running
  uint32_t mark = 0;
  DatasetSpec spec;
};

// Every slot dataset of the file, by index.
std::vector<Slot> read_slots(Transaction& tx, const std::vector<std::string>& datasets) {
  std::vector<Slot> out;
  const std::string prefix = kSlots;
  for (const std::string& p : datasets) {
    if (p.compare(0, prefix.size(), prefix) != 0) continue;
    Slot s;
    s.path = p;
    if (!parse_u64(p.substr(prefix.size()), &s.index)) bad(p, "not a slot name (/slots/<number>)");
    s.spec = tx.dataset_spec(kIngestFile, p);
    if (s.spec.shape.size() != 1 || s.spec.dtype != DType::U32)
      bad(p, "not a progress dataset (" + format_shape(s.spec.shape) + " " + dtype_name(s.spec.dtype) +
                 ", expected 1-D u32)");
    const std::vector<std::string> names = tx.list_attributes(kIngestFile, p);
    const std::string state = text_attribute(tx, p, names, "state", true);
    if (state != kRunning && state != kFree) bad(p, "state '" + state + "' is neither running nor free");
    s.running = state == kRunning;
    const std::string mark = text_attribute(tx, p, names, "mark", true);
    s.mark = parse_u32(p, "mark", mark);
    if (s.running) {
      RunInfo& r = s.info;
      r.id = text_attribute(tx, p, names, "id", true);
      if (!is_hex_id(r.id)) bad(p, "id '" + r.id + "' is not 16 hex digits");
      r.run = parse_u32(p, "run", text_attribute(tx, p, names, "run", true));
      r.target = text_attribute(tx, p, names, "target", true);
      r.input = text_attribute(tx, p, names, "input", true);
      r.shape = text_attribute(tx, p, names, "shape", true);
      r.chunk = text_attribute(tx, p, names, "chunk", true);
      r.start = text_attribute(tx, p, names, "start", true);
      if (!parse_u64(text_attribute(tx, p, names, "chunks", true), &r.chunks) || r.chunks > s.spec.shape[0])
        bad(p, "chunks does not fit the progress dataset's " + std::to_string(s.spec.shape[0]) + " elements");
    }
    out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(), [](const Slot& a, const Slot& b) { return a.index < b.index; });
  return out;
}

// The progress datasets of earlier builds: "/<16 hex digits>/<run>".
struct Legacy {
  std::string path;
  RunInfo info;
};
std::vector<Legacy> read_legacy(Transaction& tx, const std::vector<std::string>& datasets,
                                const std::string& only_id) {
  std::vector<Legacy> out;
  for (const std::string& p : datasets) {
    if (p.size() < 19 || p[0] != '/' || p[17] != '/') continue;
    const std::string id = p.substr(1, 16), rest = p.substr(18);
    uint64_t run = 0;
    if (!is_hex_id(id) || !parse_u64(rest, &run) || run == 0 || run >= UINT32_MAX) continue;
    if (!only_id.empty() && id != only_id) continue;
    Legacy l;
    l.path = p;
    l.info.id = id;
    l.info.run = uint32_t(run);
    const std::vector<std::string> names = tx.list_attributes(kIngestFile, p);
    l.info.target = text_attribute(tx, p, names, "target", false);
    l.info.input = text_attribute(tx, p, names, "input", false);
    l.info.shape = text_attribute(tx, p, names, "shape", false);
    l.info.chunk = text_attribute(tx, p, names, "chunk", false);
    l.info.start = text_attribute(tx, p, names, "start", false);
    const DatasetSpec ps = tx.dataset_spec(kIngestFile, p);
    if (ps.shape.size() != 1 || ps.dtype != DType::U32)
      bad(p, "not a progress dataset (" + format_shape(ps.shape) + " " + dtype_name(ps.dtype) +
                 ", expected 1-D u32)");
    l.info.chunks = ps.shape[0];
    out.push_back(std::move(l));
  }
  return out;
}

std::vector<std::pair<std::string, RunInfo>> read_finished(Transaction& tx) {
  std::vector<std::pair<std::string, RunInfo>> out;
  const std::string prefix = kFinishedPrefix;
  for (const std::string& name : tx.list_attributes(kIngestFile, "/")) {
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string id = name.substr(prefix.size());
    if (!is_hex_id(id)) bad("/", "attribute '" + name + "' does not name an ingest id");
    AttributeValue v = tx.get_attribute(kIngestFile, "/", name);
    if (!v.is_string) bad("/", "attribute '" + name + "' is not a string");
    out.emplace_back(id, decode_finished(id, v.text));
  }
  return out;
}

void set_text(Transaction& tx, const std::string& object, const std::string& name, const std::string& value) {
  tx.set_attribute(kIngestFile, object, name, AttributeValue::string(value));
}

}  // namespace

KnownIngest find_ingest(Transaction& tx, const std::string& id) {
  KnownIngest k;
  if (!contains(tx.list_files(), kIngestFile)) return k;
  const std::vector<std::string> datasets = tx.list_datasets(kIngestFile);
  for (auto& f : read_finished(tx))
    if (f.first == id) {
      k.finished = f.second;
      k.last_run = std::max(k.last_run, f.second.run);
    }
  for (const Slot& s : read_slots(tx, datasets)) {
    if (!s.running || s.info.id != id) continue;
    k.last_run = std::max(k.last_run, s.info.run);
    if (!k.running || s.info.run > k.running->run) {
      k.running = s.info;
      k.progress = ProgressRef{s.path, s.mark, s.spec.chunk[0], false};
    }
  }
  for (const Legacy& l : read_legacy(tx, datasets, id)) {
    k.last_run = std::max(k.last_run, l.info.run);
    // A legacy run is unfinished unless a finished record covers it, and
    // is resumed only if it is the newest run of the ingest.
    if (k.finished && k.finished->run >= l.info.run) continue;
    if (!k.running || l.info.run > k.running->run) {
      k.running = l.info;
      k.progress = ProgressRef{l.path, l.info.run, tx.dataset_spec(kIngestFile, l.path).chunk[0], true};
    }
  }
  // A finished record newer than every unfinished run wins.
  if (k.running && k.finished && k.finished->run > k.running->run) {
    k.running.reset();
    k.progress.reset();
  }
  return k;
}

ProgressRef start_run(Transaction& setup, bool file_exists, const RunInfo& info, uint64_t group,
                      const std::optional<ProgressRef>& supersede) {
  if (!file_exists) setup.create_file(kIngestFile);
  const uint64_t chunk = std::min<uint64_t>(group, info.chunks);
  const std::vector<Slot> slots =
      file_exists ? read_slots(setup, setup.list_datasets(kIngestFile)) : std::vector<Slot>();
  const Slot* take = nullptr;
  if (supersede && !supersede->legacy)
    for (const Slot& s : slots)
      if (s.path == supersede->path && s.spec.chunk[0] == chunk) take = &s;
  if (!take)
    for (const Slot& s : slots)
      if (!s.running && s.spec.chunk[0] == chunk) {
        take = &s;
        break;
      }
  ProgressRef p;
  p.group = chunk;
  if (take) {
    if (take->mark >= UINT32_MAX - 1) bad(take->path, "mark is at its limit; the slot cannot be reused");
    p.path = take->path;
    p.mark = take->mark + 1;
    if (take->spec.shape[0] < info.chunks) setup.extend_dataset(kIngestFile, p.path, Shape{info.chunks});
  } else {
    const uint64_t next = slots.empty() ? 0 : slots.back().index + 1;
    p.path = std::string(kSlots) + std::to_string(next);
    p.mark = 1;
    DatasetSpec ps;
    ps.dtype = DType::U32;
    ps.shape = Shape{info.chunks};
    ps.max_shape = Shape{kUnlimited};
    ps.chunk = Shape{chunk};
    // Unfiltered: HDF5 rewrites an unfiltered chunk where it is, so reusing
    // the slot does not leave the old copies behind as unreachable space.
    ps.fletcher32 = false;
    setup.create_dataset(kIngestFile, p.path, ps);
  }
  set_text(setup, p.path, "state", kRunning);
  set_text(setup, p.path, "mark", std::to_string(p.mark));
  set_text(setup, p.path, "id", info.id);
  set_text(setup, p.path, "run", std::to_string(info.run));
  set_text(setup, p.path, "target", info.target);
  set_text(setup, p.path, "input", info.input);
  set_text(setup, p.path, "shape", info.shape);
  set_text(setup, p.path, "chunk", info.chunk);
  set_text(setup, p.path, "start", info.start);
  set_text(setup, p.path, "chunks", std::to_string(info.chunks));
  return p;
}

void load_marks(Transaction& tx, const std::vector<TransactionInfo>& pending, const RunInfo& info,
                const ProgressRef& p, std::vector<uint8_t>& done) {
  done.assign(size_t(info.chunks), 0);
  const DatasetSpec ps = tx.dataset_spec(kIngestFile, p.path);
  if (ps.shape.size() != 1 || ps.shape[0] < info.chunks || ps.dtype != DType::U32)
    bad(p.path, "progress dataset does not match the ingest (" + format_shape(ps.shape) + " " +
                    dtype_name(ps.dtype) + ", expected at least " + std::to_string(info.chunks) + " u32)");
  if (info.chunks) {
    std::vector<uint32_t> marks(size_t(info.chunks));
    tx.read(kIngestFile, p.path, Shape{0}, Shape{info.chunks}, marks.data());
    for (uint64_t i = 0; i < info.chunks; i++) done[i] = marks[i] == p.mark;
  }
  // The pending transactions' metadata says the same for what is not yet
  // flushed; take the union.
  for (const TransactionInfo& t : pending) {
    auto id = t.metadata.find(kMetaId), run = t.metadata.find(kMetaRun), ch = t.metadata.find(kMetaChunks);
    if (id == t.metadata.end() || id->second != info.id || run == t.metadata.end() ||
        run->second != std::to_string(info.run) || ch == t.metadata.end())
      continue;
    std::vector<uint64_t> idx;
    if (!parse_ranges(ch->second, &idx))
      throw CorruptionError("journal transaction " + hex16(t.txid),
                            std::string("unreadable ") + kMetaChunks + " '" + ch->second + "'");
    for (uint64_t i : idx)
      if (i < info.chunks) done[i] = 1;
  }
}

void finish_run(Store& store, const RunInfo& info, const ProgressRef& p) {
  for (int attempt = 0;; attempt++) {
    Transaction tx = store.begin();
    set_text(tx, "/", kFinishedPrefix + info.id, encode_finished(info));
    if (!p.legacy) {
      // Only if the slot is still this run's (a --no-resume run of another
      // process may have taken it over meanwhile).
      const std::vector<std::string> names = tx.list_attributes(kIngestFile, p.path);
      if (text_attribute(tx, p.path, names, "id", false) == info.id &&
          text_attribute(tx, p.path, names, "mark", false) == std::to_string(p.mark)) {
        set_text(tx, p.path, "state", kFree);
        set_text(tx, p.path, "id", "");
      }
    }
    tx.set_message("h5tx ingest " + info.id + " run " + std::to_string(info.run) + ": finished");
    tx.set_metadata(kMetaId, info.id);
    tx.set_metadata(kMetaRun, std::to_string(info.run));
    tx.set_metadata(kMetaTarget, info.target);
    try {
      tx.commit();
      return;
    } catch (const ConflictError&) {
      if (attempt >= 8) throw;
    }
  }
}

std::vector<IngestRecord> list_records(Store& store) {
  std::vector<IngestRecord> out;
  TxOptions ro;
  ro.read_only = true;
  Transaction tx = store.begin(ro);
  if (!contains(tx.list_files(), kIngestFile)) return out;
  const std::vector<TransactionInfo> pending = store.pending();
  const std::vector<std::string> datasets = tx.list_datasets(kIngestFile);
  std::map<std::pair<std::string, uint32_t>, IngestRecord> by_run;
  for (auto& f : read_finished(tx)) {
    IngestRecord r;
    r.info = f.second;
    r.chunks_done = r.info.chunks;
    r.kind = "finished";
    by_run[{r.info.id, r.info.run}] = r;
  }
  std::vector<uint8_t> done;
  for (const Slot& s : read_slots(tx, datasets)) {
    if (!s.running || by_run.count({s.info.id, s.info.run})) continue;
    IngestRecord r;
    r.info = s.info;
    r.kind = "running";
    load_marks(tx, pending, r.info, ProgressRef{s.path, s.mark, s.spec.chunk[0], false}, done);
    for (uint8_t d : done) r.chunks_done += d;
    by_run[{r.info.id, r.info.run}] = r;
  }
  for (const Legacy& l : read_legacy(tx, datasets, "")) {
    if (by_run.count({l.info.id, l.info.run})) continue;  // compacted into a finished record
    IngestRecord r;
    r.info = l.info;
    r.kind = "legacy";
    load_marks(tx, pending, r.info, ProgressRef{l.path, l.info.run, 0, true}, done);
    for (uint8_t d : done) r.chunks_done += d;
    by_run[{r.info.id, r.info.run}] = r;
  }
  for (auto& kv : by_run) out.push_back(kv.second);  // map order: by id, then run
  for (size_t i = 0; i + 1 < out.size(); i++)
    if (out[i].info.id == out[i + 1].info.id) out[i].latest = false;
  tx.abort();
  return out;
}

}  // namespace cli
}  // namespace h5tx
