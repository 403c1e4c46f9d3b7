#ifndef FOVEA_TESTS_SUPPORT_JSON_READING_H_
#define FOVEA_TESTS_SUPPORT_JSON_READING_H_

#include <string>

#include "common/json.h"

namespace test_support {

// Parses JSON the test expects to be well formed (a server's answer); fails the test, showing
// the text, otherwise.
common::JsonValue ParseJsonOrFail(const std::string& text);

}  // namespace test_support

#endif  // FOVEA_TESTS_SUPPORT_JSON_READING_H_
