// Resumable batch ingest (see ingest.hpp).
#include "ingest.hpp"

#include <xxhash.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "chunk_grid.hpp"
#include "chunk_source.hpp"
#include "input.hpp"
#include "progress.hpp"

namespace h5tx {
namespace cli {

namespace {

const char kMetaId[] = "h5tx.ingest.id";
const char kMetaRun[] = "h5tx.ingest.run";
const char kMetaChunks[] = "h5tx.ingest.chunks";
const char kMetaTarget[] = "h5tx.ingest.target";

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// Runs of the ingest already in the progress file: the numbers <run> of
// datasets "/<id>/<run>".
std::vector<uint32_t> find_runs(Transaction& tx, const std::string& id) {
  std::vector<uint32_t> runs;
  if (!contains(tx.list_files(), kIngestFile)) return runs;
  std::string prefix = "/" + id + "/";
  for (const std::string& p : tx.list_datasets(kIngestFile)) {
    if (p.compare(0, prefix.size(), prefix) != 0) continue;
    std::vector<uint64_t> n;
    std::string rest = p.substr(prefix.size());
    if (rest.find_first_not_of("0123456789") == std::string::npos && parse_ranges(rest, &n) &&
        n.size() == 1 && n[0] > 0 && n[0] < UINT32_MAX)
      runs.push_back(uint32_t(n[0]));
  }
  std::sort(runs.begin(), runs.end());
  return runs;
}

}  // namespace

Shape default_chunk(const Shape& shape, DType dtype) {
  Shape c = shape;
  const uint64_t target = uint64_t(1) << 20;
  while (true) {
    uint64_t bytes = dtype_size(dtype);
    for (uint64_t d : c) bytes *= d;
    if (bytes <= target) break;
    size_t big = size_t(std::max_element(c.begin(), c.end()) - c.begin());
    if (c[big] == 1) break;
    c[big] = (c[big] + 1) / 2;
  }
  return c;
}

namespace {

// The target dataset: checked against the input (and grown to it) if it
// exists, created otherwise. Sets *changed when `setup` wrote something.
DatasetSpec prepare_target(Transaction& setup, const std::vector<std::string>& files, Input& input,
                           const IngestOptions& opt, const std::string& where, bool* changed) {
  const std::string& file = opt.target.file;
  const std::string& path = opt.target.path;
  DatasetSpec spec;
  if (contains(files, file) && contains(setup.list_datasets(file), path)) {
    spec = setup.dataset_spec(file, path);
    if (spec.dtype != input.dtype())
      throw UsageError(where + " holds " + dtype_name(spec.dtype) + ", " + input.describe() + " is " +
                       dtype_name(input.dtype()));
    if (spec.shape.size() != input.shape().size())
      throw UsageError(where + " has shape " + format_shape(spec.shape) + ", " + input.describe() + " has " +
                       format_shape(input.shape()));
    if (!opt.chunk.empty() && opt.chunk != spec.chunk)
      throw UsageError(where + " exists with chunk shape " + format_shape(spec.chunk) + ", not " +
                       format_shape(opt.chunk));
    bool grow = false;
    for (size_t d = 0; d < spec.shape.size(); d++) {
      if (spec.shape[d] > input.shape()[d])
        throw UsageError(where + " has shape " + format_shape(spec.shape) + ", larger than " +
                         input.describe() + " (" + format_shape(input.shape()) + ")");
      if (spec.shape[d] < input.shape()[d]) grow = true;
    }
    if (grow) {
      setup.extend_dataset(file, path, input.shape());  // InvalidArgumentError beyond max_shape
      *changed = true;
    }
    return spec;
  }
  if (!contains(files, file)) setup.create_file(file);
  spec.dtype = input.dtype();
  spec.shape = input.shape();
  spec.chunk = opt.chunk.empty() ? default_chunk(input.shape(), input.dtype()) : opt.chunk;
  if (spec.chunk.size() != spec.shape.size())
    throw UsageError("--chunk " + format_shape(spec.chunk) + " has a different rank than the input's shape " +
                     format_shape(spec.shape));
  spec.compression = opt.deflate_level ? Compression::ShuffleDeflate : Compression::None;
  spec.deflate_level = opt.deflate_level ? opt.deflate_level : 4;
  spec.fletcher32 = opt.fletcher32;
  setup.create_dataset(file, path, spec);
  *changed = true;
  return spec;
}

std::string progress_path(const IngestResult& r) {
  return "/" + r.id + "/" + std::to_string(r.run);
}

// Resuming run r.run: which chunks are committed, from its progress
// dataset and the metadata of pending transactions. Returns the chunks per
// transaction the run was started with.
uint64_t load_progress(Store& store, Transaction& setup, IngestResult& r, std::vector<uint8_t>& done) {
  const std::string ppath = progress_path(r);
  DatasetSpec ps = setup.dataset_spec(kIngestFile, ppath);
  if (ps.shape.size() != 1 || ps.shape[0] != r.chunks || ps.dtype != DType::U32)
    throw CorruptionError(std::string(kIngestFile) + ":" + ppath,
                          "progress dataset does not match the ingest (" + format_shape(ps.shape) + " " +
                              dtype_name(ps.dtype) + ", expected " + std::to_string(r.chunks) + " u32)");
  std::vector<uint32_t> marks(size_t(r.chunks));
  setup.read(kIngestFile, ppath, Shape{0}, Shape{r.chunks}, marks.data());
  for (uint64_t i = 0; i < r.chunks; i++) done[i] = marks[i] == r.run;
  // The pending transactions' metadata says the same for what is not yet
  // flushed; take the union.
  for (const TransactionInfo& t : store.pending()) {
    auto id = t.metadata.find(kMetaId), run = t.metadata.find(kMetaRun), ch = t.metadata.find(kMetaChunks);
    if (id == t.metadata.end() || id->second != r.id || run == t.metadata.end() ||
        run->second != std::to_string(r.run) || ch == t.metadata.end())
      continue;
    std::vector<uint64_t> idx;
    if (!parse_ranges(ch->second, &idx))
      throw CorruptionError(store.home(), "transaction " + hex16(t.txid) + " has unreadable " + kMetaChunks +
                                              " '" + ch->second + "'");
    for (uint64_t i : idx)
      if (i < r.chunks) done[i] = 1;
  }
  return ps.chunk[0];
}

// A new run r.run: its progress dataset (one u32 mark per chunk, one HDF5
// chunk per transaction) with attributes saying what it ingests.
uint64_t start_progress(Transaction& setup, const std::vector<std::string>& files, const IngestResult& r,
                        Input& input, const DatasetSpec& spec, const std::string& where, uint64_t group) {
  const std::string pfile = kIngestFile, ppath = progress_path(r);
  if (!contains(files, pfile)) setup.create_file(pfile);
  DatasetSpec ps;
  ps.dtype = DType::U32;
  ps.shape = Shape{r.chunks};
  ps.chunk = Shape{std::min<uint64_t>(group, r.chunks)};
  setup.create_dataset(pfile, ppath, ps);
  setup.set_attribute(pfile, ppath, "target", AttributeValue::string(where));
  setup.set_attribute(pfile, ppath, "input", AttributeValue::string(input.describe()));
  setup.set_attribute(pfile, ppath, "shape", AttributeValue::string(format_shape(input.shape())));
  setup.set_attribute(pfile, ppath, "chunk", AttributeValue::string(format_shape(spec.chunk)));
  return ps.chunk[0];
}

// The worker threads: each takes the next group of chunks not yet done and
// commits them, with their progress marks, in one transaction.
void write_chunks(Store& store, Input& input, const IngestOptions& opt, const DatasetSpec& spec,
                  const ChunkGrid& grid, const std::vector<uint8_t>& done, uint64_t group, IngestResult& r) {
  const std::string& file = opt.target.file;
  const std::string& path = opt.target.path;
  const std::string where = file + ":" + path;
  const uint64_t chunk_raw = grid.chunk_elements() * dtype_size(input.dtype());
  const uint64_t done_count = r.chunks_skipped;
  const uint64_t groups = (r.chunks + group - 1) / group;
  Progress progress(opt.progress_label, r.chunks * chunk_raw, opt.progress_tty);
  progress.set_plain_interval(opt.progress_interval);
  progress.skip(done_count * chunk_raw, done_count);
  std::atomic<uint64_t> next_group{0}, written{0}, chunks_written{0}, transactions{0};
  std::atomic<bool> stop{false};
  std::mutex err_mu, log_mu;
  std::exception_ptr error;
  unsigned threads = std::max(1u, opt.threads);
  if (store.mode() == Mode::Undo) threads = 1;  // one writer at a time in undo mode
  ChunkSource source(input, grid, fill_element_of(spec.dtype, spec.fill_value), done, uint64_t(32) << 20,
                     threads + 2);
  std::mutex stage_mu;  // guards r.stages
  const std::string pfile = kIngestFile, ppath = progress_path(r);
  const std::vector<uint32_t> marks(size_t(group), r.run);
  auto start = std::chrono::steady_clock::now();
  TxOptions txo;
  txo.check_conflicts = false;
  txo.timeout = std::chrono::minutes(10);

  auto worker = [&]() {
    try {
      while (!stop.load()) {
        uint64_t g = next_group.fetch_add(1);
        if (g >= groups) break;
        uint64_t first = g * group, last = std::min(r.chunks, first + group);
        std::vector<uint64_t> todo;
        for (uint64_t i = first; i < last; i++)
          if (!done[i]) todo.push_back(i);
        if (todo.empty()) continue;
        double extract_s = 0, stage_s = 0;
        Transaction tx = store.begin(txo);
        for (uint64_t i : todo) {
          if (stop.load()) return;
          auto t0 = std::chrono::steady_clock::now();
          std::vector<uint8_t> data = source.chunk(i);
          auto t1 = std::chrono::steady_clock::now();
          tx.write_chunk(file, path, grid.coords(i), data);
          extract_s += std::chrono::duration<double>(t1 - t0).count();
          stage_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
        }
        tx.write_chunk(pfile, ppath, Shape{g}, marks.data(), marks.size() * sizeof(uint32_t));
        std::string ranges = format_ranges(todo);
        tx.set_message("h5tx ingest " + r.id + " run " + std::to_string(r.run) + ": chunks " + ranges);
        tx.set_metadata(kMetaId, r.id);
        tx.set_metadata(kMetaRun, std::to_string(r.run));
        tx.set_metadata(kMetaChunks, ranges);
        tx.set_metadata(kMetaTarget, where);
        auto tc = std::chrono::steady_clock::now();
        tx.commit();
        {
          std::lock_guard<std::mutex> l(stage_mu);
          r.stages.input += extract_s;
          r.stages.stage += stage_s;
          r.stages.commit += std::chrono::duration<double>(std::chrono::steady_clock::now() - tc).count();
        }
        uint64_t bytes = todo.size() * chunk_raw;
        uint64_t total_written = written.fetch_add(bytes) + bytes;
        chunks_written += todo.size();
        transactions++;
        progress.add(bytes, todo.size());
        if (opt.verbose && opt.log) {
          std::lock_guard<std::mutex> l(log_mu);
          std::fprintf(opt.log, "committed txid %s chunks %s\n", hex16(tx.txid()).c_str(), ranges.c_str());
          std::fflush(opt.log);
        }
        if (opt.max_rate_mib > 0) {
          double due = double(total_written) / (opt.max_rate_mib * 1024 * 1024);
          std::this_thread::sleep_until(start +
                                        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                            std::chrono::duration<double>(due)));
        }
      }
    } catch (...) {
      // Not swallowed: the first error stops every worker and is rethrown below.
      std::lock_guard<std::mutex> l(err_mu);
      if (!error) error = std::current_exception();
      stop = true;
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; t++) pool.emplace_back(worker);
  for (std::thread& t : pool) t.join();
  if (error) std::rethrow_exception(error);
  progress.finish();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.chunks_written = chunks_written;
  r.transactions = transactions;
  r.bytes_written = written;
  const ChunkSource::Stats ss = source.stats();
  r.stages.threads = threads;
  r.stages.read_units = ss.units_read;
  r.stages.unit_chunks = source.unit_chunks();
  r.stages.read_bytes = ss.bytes_read;
  r.stages.read = ss.read_seconds;
  r.stages.wait = ss.wait_seconds;
}

}  // namespace

IngestResult run_ingest(Store& store, Input& input, const IngestOptions& opt) {
  IngestResult r;
  const std::string where = opt.target.file + ":" + opt.target.path;

  // Setup, in one transaction: the target dataset, the progress dataset,
  // what is done already.
  Transaction setup = store.begin();
  bool changed = false;
  const std::vector<std::string> files = setup.list_files();
  const DatasetSpec spec = prepare_target(setup, files, input, opt, where, &changed);
  r.chunk = spec.chunk;
  ChunkGrid grid(input.shape(), spec.chunk);
  r.chunks = grid.count();
  std::string identity = "target=" + where + "\ninput=" + input.identity() +
                         "\ndtype=" + dtype_name(input.dtype()) + "\nshape=" + format_shape(input.shape()) +
                         "\nchunk=" + format_shape(spec.chunk);
  r.id = hex16(XXH3_64bits(identity.data(), identity.size()));

  std::vector<uint32_t> runs = find_runs(setup, r.id);
  const uint64_t chunk_bytes = grid.chunk_elements() * dtype_size(input.dtype());
  const uint64_t auto_bytes =
      store.mode() == Mode::Undo ? kAutoTransactionBytesUndo : kAutoTransactionBytesRedo;
  uint64_t group = opt.tx_chunks ? opt.tx_chunks
                                 : std::max<uint64_t>(1, std::min<uint64_t>(4096, auto_bytes / chunk_bytes));
  std::vector<uint8_t> done(size_t(r.chunks), 0);
  if (!runs.empty() && opt.resume != IngestOptions::Resume::No) {
    r.run = runs.back();
    group = load_progress(store, setup, r, done);
    r.resumed = true;
  } else {
    r.run = runs.empty() ? 1 : runs.back() + 1;
    group = start_progress(setup, files, r, input, spec, where, group);
    changed = true;
  }
  if (changed) {
    setup.set_message("h5tx ingest " + r.id + " run " + std::to_string(r.run) + ": setup");
    setup.set_metadata(kMetaId, r.id);
    setup.set_metadata(kMetaRun, std::to_string(r.run));
    setup.set_metadata(kMetaTarget, where);
    setup.commit();
  } else {
    setup.abort();
  }

  const uint64_t done_count = uint64_t(std::count(done.begin(), done.end(), 1));
  r.chunks_skipped = done_count;
  if (done_count == r.chunks) {
    r.already_complete = true;
    return r;
  }
  if (opt.log) {
    if (r.resumed)
      std::fprintf(opt.log,
                   "resuming ingest %s run %u: %" PRIu64 " of %" PRIu64 " chunks already committed\n",
                   r.id.c_str(), r.run, done_count, r.chunks);
    else
      std::fprintf(opt.log,
                   "starting ingest %s run %u: %" PRIu64 " chunks of %s, %" PRIu64 " per transaction\n",
                   r.id.c_str(), r.run, r.chunks, format_shape(spec.chunk, "x").c_str(), group);
    std::fflush(opt.log);
  }
  write_chunks(store, input, opt, spec, grid, done, group, r);
  return r;
}

}  // namespace cli
}  // namespace h5tx
