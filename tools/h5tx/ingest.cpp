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

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
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

// The target dataset's spec: looked up, or created in `setup` when it is
// missing (and the ingest may create it: not with --start). Checks what
// does not depend on where the input goes. Sets *changed when it created it.
DatasetSpec find_target(Transaction& setup, const std::vector<std::string>& files, Input& input,
                        const IngestOptions& opt, const std::string& where, bool* changed, bool* created) {
  const std::string& file = opt.target.file;
  const std::string& path = opt.target.path;
  const size_t rank = input.shape().size();
  DatasetSpec spec;
  if (opt.append_axis >= 0 && size_t(opt.append_axis) >= rank)
    throw UsageError("--append " + std::to_string(opt.append_axis) + ": " + input.describe() + " has " +
                     std::to_string(rank) + " dimensions (axes 0.." + std::to_string(rank - 1) + ")");
  if (!opt.start.empty() && opt.start.size() != rank)
    throw UsageError("--start " + format_shape(opt.start) + " has " + std::to_string(opt.start.size()) +
                     " coordinates, " + input.describe() + " has " + std::to_string(rank) + " dimensions");
  if (contains(files, file) && contains(setup.list_datasets(file), path)) {
    spec = setup.dataset_spec(file, path);
    if (spec.dtype != input.dtype())
      throw UsageError(where + " holds " + dtype_name(spec.dtype) + ", " + input.describe() + " is " +
                       dtype_name(input.dtype()));
    if (spec.shape.size() != rank)
      throw UsageError(where + " has shape " + format_shape(spec.shape) + ", " + input.describe() + " has " +
                       format_shape(input.shape()));
    if (!opt.chunk.empty() && opt.chunk != spec.chunk)
      throw UsageError(where + " exists with chunk shape " + format_shape(spec.chunk) + ", not " +
                       format_shape(opt.chunk));
    if (opt.append_axis >= 0) {
      for (size_t d = 0; d < rank; d++)
        if (d != size_t(opt.append_axis) && spec.shape[d] != input.shape()[d])
          throw UsageError("--append " + std::to_string(opt.append_axis) + ": " + where + " has shape " +
                           format_shape(spec.shape) + ", " + input.describe() + " has " +
                           format_shape(input.shape()) + " (only dimension " +
                           std::to_string(opt.append_axis) + " may differ)");
    } else if (opt.start.empty()) {
      for (size_t d = 0; d < rank; d++)
        if (spec.shape[d] > input.shape()[d])
          throw UsageError(where + " has shape " + format_shape(spec.shape) + ", larger than " +
                           input.describe() + " (" + format_shape(input.shape()) +
                           "); write a part of it with --start or --append");
    }
    return spec;
  }
  if (!opt.start.empty())
    throw NotFoundError(where,
                        "no such dataset: --start writes into an existing dataset (make it with h5tx "
                        "create-dataset)");
  if (!contains(files, file)) setup.create_file(file);
  spec.dtype = input.dtype();
  spec.shape = input.shape();
  if (opt.append_axis >= 0) {
    spec.max_shape = spec.shape;
    spec.max_shape[size_t(opt.append_axis)] = kUnlimited;
  }
  spec.chunk = opt.chunk.empty() ? default_chunk(input.shape(), input.dtype()) : opt.chunk;
  if (spec.chunk.size() != spec.shape.size())
    throw UsageError("--chunk " + format_shape(spec.chunk) + " has a different rank than the input's shape " +
                     format_shape(spec.shape));
  spec.compression = opt.deflate_level ? Compression::ShuffleDeflate : Compression::None;
  spec.deflate_level = opt.deflate_level ? opt.deflate_level : 4;
  spec.fletcher32 = opt.fletcher32;
  setup.create_dataset(file, path, spec);
  *changed = true;
  *created = true;
  return spec;
}

// Grows the target (in `setup`) to hold the input at `start`, within its
// maximum shape; returns the shape it has then.
Shape grow_target(Transaction& setup, const DatasetSpec& spec, Input& input, const IngestOptions& opt,
                  const Shape& start, const std::string& where, bool* changed) {
  Shape need = spec.shape;
  bool grow = false;
  for (size_t d = 0; d < need.size(); d++) {
    const uint64_t end = start[d] + input.shape()[d];
    if (end <= need[d]) continue;
    const uint64_t max = spec.max_shape.empty() ? spec.shape[d] : spec.max_shape[d];
    if (end > max) {
      Shape want = need;
      for (size_t k = 0; k < want.size(); k++) want[k] = std::max(want[k], start[k] + input.shape()[k]);
      throw UsageError(
          where + " has shape " + format_shape(spec.shape) + " and maximum shape " +
          format_shape(spec.max_shape.empty() ? spec.shape : spec.max_shape) + "; " + input.describe() +
          " at " + format_shape(start) + " needs " + format_shape(want) +
          (opt.append_axis >= 0 ? " (create it with --maxshape unlimited in that dimension)" : ""));
    }
    need[d] = end;
    grow = true;
  }
  if (grow) {
    setup.extend_dataset(opt.target.file, opt.target.path, need);
    *changed = true;
  }
  return need;
}

// The worker threads: each takes the next group of chunks not yet done and
// commits them, with their progress marks, in one transaction.
void write_chunks(Store& store, Input& input, const IngestOptions& opt, const DatasetSpec& spec,
                  const ChunkGrid& grid, const Shape& base, const std::vector<uint8_t>& done,
                  const ProgressRef& prog, IngestResult& r) {
  const uint64_t group = prog.group;
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
  const std::string pfile = kIngestFile, ppath = prog.path;
  const std::vector<uint32_t> marks(size_t(group), prog.mark);
  // True if dataset chunk `coords` (grid chunk i) holds elements inside
  // the dataset's extent that the input does not cover.
  auto partial = [&](uint64_t i, const Shape& coords) {
    Shape rs, rc;
    grid.region(i, &rs, &rc);
    for (size_t d = 0; d < coords.size(); d++) {
      const uint64_t lo = coords[d] * spec.chunk[d];
      const uint64_t hi = std::min((coords[d] + 1) * spec.chunk[d], spec.shape[d]);
      const uint64_t in_lo = r.start[d] + rs[d], in_hi = in_lo + rc[d];
      if (lo < in_lo || hi > in_hi) return true;
    }
    return false;
  };
  auto start = std::chrono::steady_clock::now();
  TxOptions txo;
  txo.check_conflicts = false;
  txo.timeout = std::chrono::minutes(10);

  auto worker = [&]() {
    try {
      while (!stop.load()) {
        // Interrupted (SIGINT/SIGTERM): no new transaction; the ones in
        // flight in other workers finish.
        if (opt.interrupt && opt.interrupt->load()) break;
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
          Shape coords = grid.coords(i);
          for (size_t d = 0; d < coords.size(); d++) coords[d] += base[d];
          // A chunk the input covers only in part (inside the dataset's
          // extent): read-modify-write, in this transaction.
          std::vector<uint8_t> stored;
          if (partial(i, coords)) stored = tx.read_chunk(file, path, coords);
          std::vector<uint8_t> data = source.chunk(i, std::move(stored));
          auto t1 = std::chrono::steady_clock::now();
          tx.write_chunk(file, path, coords, data);
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
          const auto until = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                         std::chrono::duration<double>(due));
          // In slices, so that an interrupt is seen soon.
          while (std::chrono::steady_clock::now() < until && !(opt.interrupt && opt.interrupt->load()))
            std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
                until - std::chrono::steady_clock::now(), std::chrono::milliseconds(50)));
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
  r.interrupted = opt.interrupt && opt.interrupt->load() && done_count + chunks_written < r.chunks;
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

IngestResult run_ingest_once(Store& store, Input& input, const IngestOptions& opt) {
  IngestResult r;
  const std::string where = opt.target.file + ":" + opt.target.path;
  const size_t rank = input.shape().size();

  // Setup, in one transaction: the target dataset (created, or extended to
  // hold the input where it goes), the progress dataset, what is done already.
  Transaction setup = store.begin();
  bool changed = false, created = false;
  const std::vector<std::string> files = setup.list_files();
  DatasetSpec spec = find_target(setup, files, input, opt, where, &changed, &created);
  r.chunk = spec.chunk;
  // The ingest's identity. --start is part of it; --append is too, but not
  // where it appends (the dataset's end moves with every append): a run
  // records its start, and resuming it writes there again.
  std::string identity = "target=" + where + "\ninput=" + input.identity() +
                         "\ndtype=" + dtype_name(input.dtype()) + "\nshape=" + format_shape(input.shape()) +
                         "\nchunk=" + format_shape(spec.chunk);
  if (!opt.start.empty()) identity += "\nstart=" + format_shape(opt.start);
  if (opt.append_axis >= 0) identity += "\nappend=" + std::to_string(opt.append_axis);
  r.id = hex16(XXH3_64bits(identity.data(), identity.size()));

  const KnownIngest known = find_ingest(setup, r.id);
  const bool no_resume = opt.resume == IngestOptions::Resume::No;
  const bool resume = known.running && !no_resume;
  // Finished before (and compacted): nothing to write, unless --no-resume.
  const bool finished = !known.running && known.finished && !no_resume;
  r.run = resume ? known.running->run : finished ? known.finished->run : known.last_run + 1;
  // Where the input goes (a resumed run: where it was going, from its record).
  Shape start = opt.start.empty() ? Shape(rank, 0) : opt.start;
  if (opt.append_axis >= 0 && !created) start[size_t(opt.append_axis)] = spec.shape[size_t(opt.append_axis)];
  uint64_t chunk_bytes = dtype_size(input.dtype());
  for (uint64_t c : spec.chunk) chunk_bytes *= c;
  const uint64_t auto_bytes =
      store.mode() == Mode::Undo ? kAutoTransactionBytesUndo : kAutoTransactionBytesRedo;
  uint64_t group = opt.tx_chunks ? opt.tx_chunks
                                 : std::max<uint64_t>(1, std::min<uint64_t>(4096, auto_bytes / chunk_bytes));
  if (resume || finished) {
    // The grid depends on start only through its offset: use the recorded one.
    const RunInfo& rec = resume ? *known.running : *known.finished;
    const std::string object = std::string(kIngestFile) + ":" + (resume ? known.progress->path : "/");
    if (!rec.start.empty())
      start = parse_shape(rec.start, "start", true);
    else if (opt.append_axis >= 0)
      throw CorruptionError(object, "the progress record of an --append ingest has no start");
    if (start.size() != rank)
      throw CorruptionError(object, "recorded start " + format_shape(start) + " does not fit the input");
  }
  r.start = start;
  Shape offset(rank), base(rank);
  for (size_t d = 0; d < rank; d++) {
    offset[d] = start[d] % spec.chunk[d];
    base[d] = start[d] / spec.chunk[d];
  }
  ChunkGrid grid(input.shape(), spec.chunk, offset);
  r.chunks = grid.count();
  RunInfo info;
  info.id = r.id;
  info.run = r.run;
  info.target = where;
  info.input = input.describe();
  info.shape = format_shape(input.shape());
  info.chunk = format_shape(spec.chunk);
  info.start = format_shape(start);
  info.chunks = r.chunks;
  std::vector<uint8_t> done(size_t(r.chunks), 0);
  ProgressRef prog;
  if (resume) {
    prog = *known.progress;
    load_marks(setup, store.pending(), *known.running, prog, done);
    info = *known.running;  // as recorded (the run's input description, start)
  } else if (finished) {
    std::fill(done.begin(), done.end(), 1);
  } else {
    spec.shape = grow_target(setup, spec, input, opt, start, where, &changed);
    prog = start_run(setup, contains(files, kIngestFile), info, group, known.progress);
    changed = true;
  }
  r.resumed = resume;
  r.dataset_shape = spec.shape;
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
    // A run whose last chunks committed before its record was compacted
    // (interrupted or killed right then): compact it now.
    if (resume) finish_run(store, info, prog);
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
                   r.id.c_str(), r.run, r.chunks, format_shape(spec.chunk, "x").c_str(), prog.group);
    std::fflush(opt.log);
  }
  write_chunks(store, input, opt, spec, grid, base, done, prog, r);
  if (!r.interrupted && r.chunks_skipped + r.chunks_written == r.chunks) finish_run(store, info, prog);
  return r;
}

}  // namespace

IngestResult run_ingest(Store& store, Input& input, const IngestOptions& opt) {
  // The setup transaction conflicts with another process's setup that took
  // the same progress slot or created .h5tx-ingest.h5 first: start over.
  // (Worker transactions are blind writes; a rerun resumes what committed.)
  for (int attempt = 0;; attempt++) {
    try {
      return run_ingest_once(store, input, opt);
    } catch (const ConflictError&) {
      if (attempt >= 8) throw;
    }
  }
}

}  // namespace cli
}  // namespace h5tx
