#include "fhir/format/xml_schema.h"

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <xercesc/framework/MemBufInputSource.hpp>
#include <xercesc/framework/XMLGrammarPoolImpl.hpp>
#include <xercesc/parsers/SAX2XMLReaderImpl.hpp>
#include <xercesc/sax/Locator.hpp>
#include <xercesc/sax/SAXException.hpp>
#include <xercesc/sax/SAXParseException.hpp>
#include <xercesc/sax2/Attributes.hpp>
#include <xercesc/sax2/DefaultHandler.hpp>
#include <xercesc/sax2/SAX2XMLReader.hpp>
#include <xercesc/sax2/XMLReaderFactory.hpp>
#include <xercesc/util/OutOfMemoryException.hpp>
#include <xercesc/util/PlatformUtils.hpp>
#include <xercesc/util/SecurityManager.hpp>
#include <xercesc/util/TransService.hpp>
#include <xercesc/util/XMLEntityResolver.hpp>
#include <xercesc/util/XMLException.hpp>
#include <xercesc/util/XMLResourceIdentifier.hpp>
#include <xercesc/util/XMLUni.hpp>
#include <xercesc/validators/common/Grammar.hpp>

#include "fhir/format/detail/xerces_runtime.h"
#include "fhir/format/xml_format.h"

// The three schema documents, embedded by fovea_embed_file (fhir/format/CMakeLists.txt).
std::string_view EmbeddedFhirSingleXsd();
std::string_view EmbeddedFhirXhtmlXsd();
std::string_view EmbeddedXmlXsd();

namespace fhir::format {

namespace xc = XERCES_CPP_NAMESPACE;

namespace {

std::string Utf8(const XMLCh* s) {
  if (s == nullptr) return {};
  xc::TranscodeToStr utf8(s, "UTF-8");
  return std::string(reinterpret_cast<const char*>(utf8.str()), utf8.length());
}

bool Equals(const XMLCh* a, std::string_view b) {
  if (a == nullptr) return b.empty();
  std::size_t i = 0;
  for (; a[i] != 0; ++i) {
    if (i >= b.size() || a[i] != static_cast<unsigned char>(b[i])) return false;
  }
  return i == b.size();
}

struct EmbeddedDocument {
  std::string_view name;  // the schemaLocation the other documents import it by
  std::string_view (*text)();
};

constexpr EmbeddedDocument kSchemaDocuments[] = {
    {"fhir-single.xsd", &EmbeddedFhirSingleXsd},
    {"fhir-xhtml.xsd", &EmbeddedFhirXhtmlXsd},
    {"xml.xsd", &EmbeddedXmlXsd},
};

std::unique_ptr<xc::InputSource> EmbeddedSource(const EmbeddedDocument& doc) {
  std::string_view text = doc.text();
  std::string name(doc.name);
  return std::make_unique<xc::MemBufInputSource>(reinterpret_cast<const XMLByte*>(text.data()),
                                                 text.size(), name.c_str(),
                                                 /*adoptBuffer=*/false);
}

// Resolves the imports of the schema documents (schemaLocation="xml.xsd", "fhir-xhtml.xsd") to
// the embedded copies. Anything else is left unresolved, and with default entity resolution
// disabled Xerces then reads nothing.
class EmbeddedSchemaResolver : public xc::XMLEntityResolver {
 public:
  xc::InputSource* resolveEntity(xc::XMLResourceIdentifier* id) override {
    if (id == nullptr) return nullptr;
    const XMLCh* location = id->getSchemaLocation();
    if (location == nullptr) location = id->getSystemId();
    std::string name = Utf8(location);
    if (std::size_t slash = name.find_last_of('/'); slash != std::string::npos) {
      name.erase(0, slash + 1);
    }
    for (const EmbeddedDocument& doc : kSchemaDocuments) {
      if (doc.name == name) return EmbeddedSource(doc).release();  // Xerces adopts it
    }
    return nullptr;
  }
};

// Thrown from the handler to stop a parse; Xerces unwinds its scanner and rethrows it.
struct StopParse {};

// Collects the problems of one parse as "line L, column C: message (in <Patient><name>)":
// Xerces reports an unexpected child without naming its parent, so the open elements are added.
//
// One mistake makes Xerces report several errors (for an unknown element: no declaration, each
// of its attributes undeclared, then the parent's content model failing at that element). Errors
// are therefore held until the next SAX event tells where they belong. Those before startElement
// belong to that start tag: the first is kept, the element's content is not checked further and
// the parent's content-model error naming it is dropped. Those before endElement belong to the
// end tag (the element's content model).
//
// Adds the two checks the XSD cannot express: the root is in the FHIR namespace (Xerces would only
// say it found no grammar), and ele-1, "every element has a value attribute or child elements"
// (the XSD makes both optional, so <family/> would pass). Refuses a DOCTYPE.
class ProblemCollector : public xc::DefaultHandler {
 public:
  explicit ProblemCollector(std::size_t max_problems) : max_problems_(max_problems) {}

  const std::vector<std::string>& problems() const { return problems_; }
  bool truncated() const { return truncated_; }

  // Records the errors still held, e.g. when the parse ended with an exception.
  void FlushPending() {
    for (const Pending& p : pending_) {
      if (!Record(p.line, p.column, p.message)) break;
    }
    pending_.clear();
  }

  // Records a problem now; false (and nothing recorded) once max_problems are held.
  bool Record(std::size_t line, std::size_t column, const std::string& message) {
    if (problems_.size() == max_problems_) {
      truncated_ = true;
      return false;
    }
    std::string text =
        "line " + std::to_string(line) + ", column " + std::to_string(column) + ": " + message;
    if (!open_.empty()) {
      text += " (in ";
      for (const OpenElement& e : open_) text += "<" + e.name + ">";
      text += ")";
    }
    problems_.push_back(std::move(text));
    return true;
  }

  void setDocumentLocator(const xc::Locator* const locator) override { locator_ = locator; }

  void startElement(const XMLCh* const uri, const XMLCh* const local_name, const XMLCh* const,
                    const xc::Attributes& attributes) override {
    std::string name = Utf8(local_name);
    if (open_.empty() && !Equals(uri, kFhirXmlNamespace)) {
      // Xerces' own errors here (no grammar, no declaration, undeclared xmlns) say less.
      pending_.clear();
      std::string found = Utf8(uri);
      Record(Line(), Column(),
             "the root element <" + name + "> must be in the FHIR namespace (xmlns=\"" +
                 std::string(kFhirXmlNamespace) + "\"), not " +
                 (found.empty() ? std::string("in no namespace") : "in \"" + found + "\""));
      throw StopParse{};
    }
    bool start_tag_errors = !pending_.empty();
    // The rest follow from the first: "attribute 'value' is not declared" for an unknown element.
    if (pending_.size() > 1) pending_.resize(1);
    FlushPendingOrStop();
    if (start_tag_errors && !open_.empty()) open_.back().reported_children.push_back(name);
    if (start_tag_errors || suppressed_depth_ > 0) ++suppressed_depth_;
    if (!open_.empty()) ++open_.back().children;
    // Resources (<Patient>, also when wrapped in <contained>) are named in UpperCamelCase and may
    // be empty; every other FHIR element is lowerCamelCase and falls under ele-1.
    bool ele1 = Equals(uri, kFhirXmlNamespace) && !name.empty() && name[0] >= 'a' && name[0] <= 'z';
    bool has_value = attributes.getValue(xc::XMLUni::fgZeroLenString, kValueAttribute) != nullptr;
    open_.push_back(OpenElement{
        std::move(name), ele1 && !has_value, Line(), Column(), 0, suppressed_depth_ > 0, {}});
  }

  void endElement(const XMLCh* const, const XMLCh* const, const XMLCh* const) override {
    if (open_.empty()) return;
    const OpenElement& closing = open_.back();
    if (closing.suppressed) {
      pending_.clear();
    } else {
      // The content-model error that names a child already reported at its start tag.
      std::erase_if(pending_, [&](const Pending& p) {
        for (const std::string& child : closing.reported_children) {
          if (p.message.find("'" + child + "'") != std::string::npos) return true;
        }
        return false;
      });
      FlushPendingOrStop();
      if (closing.needs_children && closing.children == 0) {
        std::string name = closing.name;
        std::size_t line = closing.line, column = closing.column;
        open_.pop_back();  // located in the parent, like Xerces' errors about a child
        RecordOrStop(line, column,
                     "element '" + name +
                         "' has neither a value attribute nor child elements (FHIR rule ele-1)");
        return;
      }
    }
    if (closing.suppressed) --suppressed_depth_;
    open_.pop_back();
  }

  void characters(const XMLCh* const, const XMLSize_t) override { FlushPendingOrStop(); }

  // FHIR XML has no DTD. Refusing the DOCTYPE before its internal subset is read means no entity
  // is ever declared, so none can be expanded or fetched.
  void startDTD(const XMLCh* const, const XMLCh* const, const XMLCh* const) override {
    Record(Line(), Column(), "a DOCTYPE declaration is not allowed in FHIR XML");
    throw StopParse{};
  }

  void warning(const xc::SAXParseException&) override {}
  void error(const xc::SAXParseException& e) override {
    if (suppressed_depth_ > 0) return;
    pending_.push_back(Pending{static_cast<std::size_t>(e.getLineNumber()),
                               static_cast<std::size_t>(e.getColumnNumber()),
                               Utf8(e.getMessage())});
  }
  void fatalError(const xc::SAXParseException& e) override {
    FlushPending();
    Record(e);
    throw StopParse{};  // not well-formed: nothing after this point is reliable
  }

  bool Record(const xc::SAXParseException& e) {
    return Record(static_cast<std::size_t>(e.getLineNumber()),
                  static_cast<std::size_t>(e.getColumnNumber()), Utf8(e.getMessage()));
  }

 private:
  struct OpenElement {
    std::string name;     // local name
    bool needs_children;  // a FHIR element without a value attribute: ele-1 needs a child
    std::size_t line;     // where its start tag ends
    std::size_t column;
    std::size_t children;
    bool suppressed;  // in or under a start tag that had errors: content not checked
    std::vector<std::string> reported_children;  // children with start-tag errors
  };
  struct Pending {
    std::size_t line;
    std::size_t column;
    std::string message;
  };
  static constexpr XMLCh kValueAttribute[] = {'v', 'a', 'l', 'u', 'e', 0};

  void RecordOrStop(std::size_t line, std::size_t column, const std::string& message) {
    if (!Record(line, column, message)) throw StopParse{};
  }

  void FlushPendingOrStop() {
    FlushPending();
    if (truncated_) throw StopParse{};
  }

  std::size_t Line() const { return locator_ != nullptr ? locator_->getLineNumber() : 0; }
  std::size_t Column() const { return locator_ != nullptr ? locator_->getColumnNumber() : 0; }

  std::size_t max_problems_;
  const xc::Locator* locator_ = nullptr;
  std::vector<OpenElement> open_;  // root first
  std::size_t suppressed_depth_ = 0;
  std::vector<Pending> pending_;  // errors not yet placed (see the class comment)
  std::vector<std::string> problems_;
  bool truncated_ = false;
};

std::string Join(const std::vector<std::string>& parts, bool truncated) {
  std::string out;
  for (const std::string& p : parts) {
    if (!out.empty()) out += "; ";
    out += p;
  }
  if (truncated) out += "; further problems not shown";
  return out;
}

}  // namespace

struct XmlSchema::Grammar {
  // Owns the compiled grammars. Locked after loading: read-only, and Xerces then hands every
  // parser a synchronised string pool, which is what makes concurrent parsers over it safe.
  std::unique_ptr<xc::XMLGrammarPoolImpl> pool;
};

XmlSchema::XmlSchema(std::unique_ptr<Grammar> grammar) : grammar_(std::move(grammar)) {}

XmlSchema::~XmlSchema() = default;

namespace {

common::Result<std::unique_ptr<xc::XMLGrammarPoolImpl>> CompileEmbeddedSchema() {
  auto pool = std::make_unique<xc::XMLGrammarPoolImpl>(xc::XMLPlatformUtils::fgMemoryManager);
  EmbeddedSchemaResolver resolver;
  ProblemCollector problems(10);
  try {
    // The implementation class, not the SAX2XMLReader interface: only it takes an
    // XMLEntityResolver, which sees the schemaLocation of an import.
    auto loader =
        std::make_unique<xc::SAX2XMLReaderImpl>(xc::XMLPlatformUtils::fgMemoryManager, pool.get());
    loader->setFeature(xc::XMLUni::fgSAX2CoreNameSpaces, true);
    loader->setFeature(xc::XMLUni::fgXercesSchema, true);
    loader->setFeature(xc::XMLUni::fgXercesSchemaFullChecking, false);
    loader->setFeature(xc::XMLUni::fgXercesCacheGrammarFromParse, true);
    loader->setFeature(xc::XMLUni::fgXercesIgnoreAnnotations, true);  // documentation only
    loader->setFeature(xc::XMLUni::fgXercesLoadExternalDTD, false);
    loader->setFeature(xc::XMLUni::fgXercesDisableDefaultEntityResolution, true);
    loader->setXMLEntityResolver(&resolver);
    loader->setErrorHandler(&problems);
    std::unique_ptr<xc::InputSource> source = EmbeddedSource(kSchemaDocuments[0]);
    xc::Grammar* grammar =
        loader->loadGrammar(*source, xc::Grammar::SchemaGrammarType, /*toCache=*/true);
    problems.FlushPending();
    if (grammar == nullptr || !problems.problems().empty()) {
      return common::InternalError("The embedded FHIR R4 XML schema does not compile: " +
                                   Join(problems.problems(), problems.truncated()));
    }
  } catch (const StopParse&) {
    return common::InternalError("The embedded FHIR R4 XML schema does not compile: " +
                                 Join(problems.problems(), problems.truncated()));
  } catch (const xc::SAXException& e) {
    return common::InternalError("The embedded FHIR R4 XML schema does not compile: " +
                                 Utf8(e.getMessage()));
  } catch (const xc::XMLException& e) {
    return common::InternalError("The embedded FHIR R4 XML schema does not compile: " +
                                 Utf8(e.getMessage()));
  } catch (const xc::OutOfMemoryException&) {
    return common::InternalError("Out of memory compiling the FHIR R4 XML schema");
  }
  pool->lockPool();
  return pool;
}

}  // namespace

common::Result<const XmlSchema*> XmlSchema::R4() {
  // Built by one thread while concurrent first callers wait. EnsureXercesRuntime runs inside the
  // initialiser, so the runtime is constructed first and destroyed after this schema.
  static const common::Result<std::unique_ptr<const XmlSchema>> schema =
      []() -> common::Result<std::unique_ptr<const XmlSchema>> {
    FOVEA_RETURN_IF_ERROR(detail::EnsureXercesRuntime());
    FOVEA_ASSIGN_OR_RETURN(auto pool, CompileEmbeddedSchema());
    auto grammar = std::make_unique<Grammar>();
    grammar->pool = std::move(pool);
    return std::unique_ptr<const XmlSchema>(new XmlSchema(std::move(grammar)));
  }();
  if (!schema.has_value()) return schema.error();
  return schema.value().get();
}

common::Status XmlSchema::Validate(std::string_view xml, std::size_t max_errors) const {
  ProblemCollector problems(max_errors == 0 ? 1 : max_errors);
  try {
    xc::SecurityManager security;
    std::unique_ptr<xc::SAX2XMLReader> reader(xc::XMLReaderFactory::createXMLReader(
        xc::XMLPlatformUtils::fgMemoryManager, grammar_->pool.get()));
    reader->setFeature(xc::XMLUni::fgSAX2CoreNameSpaces, true);
    reader->setFeature(xc::XMLUni::fgSAX2CoreNameSpacePrefixes, false);
    reader->setFeature(xc::XMLUni::fgSAX2CoreValidation, true);
    reader->setFeature(xc::XMLUni::fgXercesDynamic, false);
    reader->setFeature(xc::XMLUni::fgXercesSchema, true);
    reader->setFeature(xc::XMLUni::fgXercesSchemaFullChecking, false);
    reader->setFeature(xc::XMLUni::fgXercesUseCachedGrammarInParse, true);
    reader->setFeature(xc::XMLUni::fgXercesCacheGrammarFromParse, false);
    // Nothing is fetched: no schema named by xsi:schemaLocation, no external DTD, no entity.
    reader->setFeature(xc::XMLUni::fgXercesLoadSchema, false);
    reader->setFeature(xc::XMLUni::fgXercesLoadExternalDTD, false);
    reader->setFeature(xc::XMLUni::fgXercesSkipDTDValidation, true);
    reader->setFeature(xc::XMLUni::fgXercesDisableDefaultEntityResolution, true);
    // Defence in depth behind the DOCTYPE refusal in ProblemCollector::startDTD.
    security.setEntityExpansionLimit(16);
    reader->setProperty(xc::XMLUni::fgXercesSecurityManager, &security);
    reader->setContentHandler(&problems);
    reader->setErrorHandler(&problems);
    reader->setLexicalHandler(&problems);
    xc::MemBufInputSource source(reinterpret_cast<const XMLByte*>(xml.data()), xml.size(),
                                 "resource.xml", /*adoptBuffer=*/false);
    reader->parse(source);
    problems.FlushPending();
  } catch (const StopParse&) {
    // The problems are collected already.
  } catch (const xc::SAXParseException& e) {
    problems.FlushPending();
    problems.Record(e);
  } catch (const xc::SAXException& e) {
    return common::InvalidError("Malformed XML: " + Utf8(e.getMessage()));
  } catch (const xc::XMLException& e) {
    return common::InvalidError("Malformed XML: " + Utf8(e.getMessage()));
  } catch (const xc::OutOfMemoryException&) {
    return common::Status(common::StatusCode::kTooLarge,
                          "The XML document is too large to validate");
  }
  if (problems.problems().empty()) return common::Status::Ok();
  return common::InvalidError(Join(problems.problems(), problems.truncated()));
}

}  // namespace fhir::format
