// The CREATED file of an undo directory (journal/undo_<txid>/CREATED,
// formats/undo-store.md): the data files a transaction created, one per
// line, "<name>\n", or "<name>\t<identity>\n" once the transaction has made
// the (empty) file and knows its Env::file_identity. Read by recovery
// (store/undo_store.cpp) and by `h5tx check`.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace h5tx {
namespace journal {

constexpr const char* kCreatedFile = "CREATED";

// `ids` maps names to identities (absent or empty: none yet).
std::string encode_created(const std::vector<std::string>& files,
                           const std::map<std::string, std::string>& ids = {});
// The names, in order; their identities into *ids if given. CorruptionError
// naming `path` and the line for anything that is not a valid data file
// name (util/names.hpp) with an optional "dev:ino" identity.
std::vector<std::string> decode_created(const std::string& text, const std::string& path,
                                        std::map<std::string, std::string>* ids = nullptr);

}  // namespace journal
}  // namespace h5tx
