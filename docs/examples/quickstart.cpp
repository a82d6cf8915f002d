// The C++ example of docs/user-guide.md (the guide includes this file
// verbatim; tests/cli/tests.cmake builds and runs it, and tests/consumer
// builds it with pkg-config against an installed h5tx and runs it).
// Build: g++ -std=c++17 quickstart.cpp $(pkg-config --cflags --libs h5tx) or, with CMake,
//   find_package(h5tx REQUIRED)
//   target_link_libraries(app PRIVATE h5tx::h5tx)
#include <h5tx/store.hpp>

#include <cstdio>
#include <vector>

int main(int argc, char** argv) {
  const std::string home = argc > 1 ? argv[1] : "quickstart-store";
  try {
    // A new store (redo mode, the default), or the one an earlier run made:
    // Store::open opens an existing store and runs crash recovery first.
    std::unique_ptr<h5tx::Store> store;
    try {
      store = h5tx::Store::create(home);
    } catch (const h5tx::AlreadyExistsError&) {
      store = h5tx::Store::open(home);
    }

    // Transaction 1: a file and a chunked dataset (unless an earlier run made them).
    {
      h5tx::Transaction tx = store->begin();
      if (tx.list_files().empty()) {
        tx.create_file("vol.h5");
        h5tx::DatasetSpec spec;
        spec.dtype = h5tx::DType::U16;
        spec.shape = {256, 256};
        spec.chunk = {64, 64};
        spec.compression = h5tx::Compression::ShuffleDeflate;  // optional
        tx.create_dataset("vol.h5", "/raw/image", spec);
        tx.set_attribute("vol.h5", "/raw/image", "units", h5tx::AttributeValue::string("counts"));
      }
      tx.commit();  // durable when it returns
    }

    // Transaction 2: whole chunks and a hyperslab, with a message and
    // metadata recorded in the journal. Atomic: all of it or none of it.
    {
      h5tx::Transaction tx = store->begin();
      std::vector<uint16_t> chunk(64 * 64, 7);
      tx.write_chunk("vol.h5", "/raw/image", {0, 0}, chunk.data(), chunk.size() * sizeof(uint16_t));
      std::vector<uint16_t> row(100, 42);
      tx.write<uint16_t>("vol.h5", "/raw/image", {10, 50}, {1, 100}, row.data());
      tx.set_message("first light");
      tx.set_metadata("detector", "A");
      tx.commit();
      std::printf("committed transaction %016llx\n", (unsigned long long)tx.txid());  // hex, as the CLI prints txids
    }

    // A transaction that is not committed changes nothing.
    {
      h5tx::Transaction tx = store->begin();
      std::vector<uint16_t> junk(64 * 64, 0xffff);
      tx.write_chunk("vol.h5", "/raw/image", {1, 1}, junk.data(), junk.size() * sizeof(uint16_t));
      tx.abort();  // the destructor would abort too
    }

    // Read what is committed (flushed to data/ or not: reads see the journal).
    {
      h5tx::Transaction tx = store->begin(h5tx::read_only_tx());
      std::vector<uint16_t> out(4);
      tx.read<uint16_t>("vol.h5", "/raw/image", {10, 48}, {1, 4}, out.data());
      std::printf("row 10, columns 48..51: %u %u %u %u\n", out[0], out[1], out[2], out[3]);
      std::vector<uint8_t> untouched = tx.read_chunk("vol.h5", "/raw/image", {1, 1});
      std::printf("chunk (1,1) first byte: %u (the fill value)\n", untouched[0]);
    }

    // Apply the journal to data/vol.h5 (the background flusher does this on
    // its own; close() flushes too). data/vol.h5 is now a plain HDF5 file.
    store->flush();
    std::printf("plain HDF5 file: %s\n", store->data_path("vol.h5").c_str());
    store->close();
  } catch (const h5tx::Error& e) {
    // Every error names the file or object involved and what is wrong.
    std::fprintf(stderr, "h5tx: %s\n", e.what());
    return 1;
  }
  return 0;
}
