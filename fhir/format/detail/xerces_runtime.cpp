#include "fhir/format/detail/xerces_runtime.h"

#include <string>

#include <xercesc/util/PlatformUtils.hpp>
#include <xercesc/util/XMLException.hpp>

namespace fhir::format::detail {

namespace xc = XERCES_CPP_NAMESPACE;

namespace {

// Initialize/Terminate are reference-counted, so a guard in main or another library composes
// with this one.
class XercesRuntime {
 public:
  XercesRuntime() {
    try {
      xc::XMLPlatformUtils::Initialize();
      initialized_ = true;
    } catch (const xc::XMLException& e) {
      // Transcoding needs an initialised runtime; the message is ASCII in practice.
      std::string message;
      for (const XMLCh* c = e.getMessage(); c != nullptr && *c != 0; ++c) {
        message += *c < 0x80 ? static_cast<char>(*c) : '?';
      }
      status_ = common::InternalError("Xerces-C++ could not be initialised: " + message);
    }
  }
  ~XercesRuntime() {
    if (initialized_) xc::XMLPlatformUtils::Terminate();
  }
  XercesRuntime(const XercesRuntime&) = delete;
  XercesRuntime& operator=(const XercesRuntime&) = delete;

  const common::Status& status() const { return status_; }

 private:
  bool initialized_ = false;
  common::Status status_;
};

}  // namespace

const common::Status& EnsureXercesRuntime() {
  static const XercesRuntime runtime;
  return runtime.status();
}

}  // namespace fhir::format::detail
