#include "fhir/format/xml_format.h"

#include "fhir/format/detail/element_names.h"
#include "fhir/format/detail/xerces_runtime.h"

#include <cctype>
#include <deque>
#include <initializer_list>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include <xercesc/framework/MemBufInputSource.hpp>
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
#include <xercesc/util/XMLException.hpp>
#include <xercesc/util/XMLString.hpp>
#include <xercesc/util/XMLUni.hpp>

namespace fhir::format {

namespace xc = XERCES_CPP_NAMESPACE;

using model::Element;
using model::ElementDef;
using model::IssueScope;
using model::IssueType;
using model::TypeDef;

namespace {

constexpr std::string_view kXmlNamespace = "http://www.w3.org/XML/1998/namespace";
constexpr std::string_view kXsiNamespace = "http://www.w3.org/2001/XMLSchema-instance";

// ---- Xerces plumbing ---------------------------------------------------------------------------

void AppendUtf8(std::string& out, const XMLCh* s, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    char32_t c = s[i];
    if (c >= 0xD800 && c <= 0xDBFF && i + 1 < n && s[i + 1] >= 0xDC00 && s[i + 1] <= 0xDFFF) {
      c = 0x10000 + ((c - 0xD800) << 10) + (s[i + 1] - 0xDC00);
      ++i;
    } else if (c >= 0xD800 && c <= 0xDFFF) {
      c = 0xFFFD;  // a lone surrogate; Xerces rejects them in documents, so only defensive
    }
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (c < 0x800) {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
      out += static_cast<char>(0xE0 | (c >> 12));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (c >> 18));
      out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
}

// XMLString::transcode would use the process locale; the tree is UTF-8 whatever the locale.
std::string Utf8(const XMLCh* s) {
  std::string out;
  if (s != nullptr) AppendUtf8(out, s, xc::XMLString::stringLen(s));
  return out;
}

// Thrown from SAX callbacks to stop the parse; Xerces unwinds its scanner and rethrows it.
struct AbortParse {
  common::Status status;
};

// ---- Escaping and names (shared by reader and writer) -----------------------------------------

enum class EscapeMode { kText, kAttribute };

// `"` and `>` are escaped in text too: that is how the FHIR tooling serialises narrative, so the
// XHTML text read from XML equals the official JSON's div string.
void AppendEscaped(std::string& out, std::string_view s, EscapeMode mode) {
  for (char ch : s) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      // Attribute-value normalisation turns literal tab/LF/CR into spaces, and line-end
      // handling turns CR into LF everywhere: character references keep them.
      case '\r': out += "&#xD;"; break;
      case '\t':
        out += mode == EscapeMode::kAttribute ? std::string_view("&#x9;") : std::string_view("\t");
        break;
      case '\n':
        out += mode == EscapeMode::kAttribute ? std::string_view("&#xA;") : std::string_view("\n");
        break;
      default:
        if (static_cast<unsigned char>(ch) < 0x20) {
          out += "\xEF\xBF\xBD";  // not representable in XML 1.0, not even as a reference
        } else {
          out += ch;
        }
    }
  }
}

// Joins message parts; unlike "literal" + std::string(view) it does not trip GCC 12's false
// -Wrestrict warning.
std::string Cat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view p : parts) out += p;
  return out;
}

using detail::PathSegment;
using detail::UnknownElementMessage;
using Resolved = detail::ResolvedElement;

// Element.id and Extension.url are XML attributes, not child elements (xml.html#1.17.1).
bool IsAttributeElement(const TypeDef& parent, std::string_view child) {
  if (parent.is_resource()) return false;
  return child == "id" || (child == "url" && parent.name == "Extension");
}


// The JSON writer emits booleans and numbers unquoted, so the tree must never hold anything else
// for them; the precise FHIR lexical rules are the validator's job.
bool IsJsonNumber(std::string_view s) {
  std::size_t i = 0;
  auto digits = [&] {
    std::size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i > start;
  };
  if (i < s.size() && s[i] == '-') ++i;
  if (i < s.size() && s[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == s.size();
}

bool IsXmlSpace(XMLCh c) { return c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D; }

// ---- Reader ------------------------------------------------------------------------------------

enum class FrameKind { kResource, kComplex, kPrimitive, kResourceWrapper, kXhtml };

// One open FHIR element. Frames live in a deque so that a child's IssueScope can point at its
// parent's scope while more frames are pushed.
struct Frame {
  Frame(FrameKind k, Element e, IssueScope s)
      : kind(k), element(std::move(e)), scope(std::move(s)) {}

  FrameKind kind;
  Element element;                  // kResourceWrapper: only its definition is used
  IssueScope scope;
  std::optional<Element> resource;  // kResourceWrapper: the wrapped resource, once closed
  bool wraps = false;               // kResourceWrapper: a resource element was opened
  // Occurrences per definition so far: repeats get their [index], singles may not repeat.
  std::vector<std::pair<const ElementDef*, std::size_t>> seen;
  int last_index = -1;              // definition index of the last child, for the order check
  bool reported = false;            // an error was reported here; do not add "empty" on top
  bool text_reported = false;

  std::size_t NextIndex(const ElementDef* def) {
    for (auto& [d, n] : seen) {
      if (d == def) return n++;
    }
    seen.emplace_back(def, 1);
    return 0;
  }
};

// Builds the element tree from SAX2 events. One per parse: thread-compatible.
class TreeHandler final : public xc::DefaultHandler {
 public:
  TreeHandler(const definitions::Definitions& defs, const XmlParseOptions& options)
      : defs_(defs), options_(options) {}

  TreeHandler(const TreeHandler&) = delete;
  TreeHandler& operator=(const TreeHandler&) = delete;

  // Hands the tree over and forwards the buffered issues (only now: a document that turns out
  // to be malformed halfway reports nothing but its Status).
  common::Result<Element> Take(model::IssueSink& issues) {
    if (!root_.has_value()) return common::InvalidError("The XML document has no resource element");
    for (const auto& issue : buffer_.issues()) issues.Report(issue);
    return std::move(*root_);
  }

  void setDocumentLocator(const xc::Locator* const locator) override { locator_ = locator; }

  void startElement(const XMLCh* const uri, const XMLCh* const localname,
                    const XMLCh* const qname, const xc::Attributes& attrs) override {
    if (++depth_ > options_.max_depth) {
      Abort("nesting deeper than " + std::to_string(options_.max_depth) + " levels");
    }
    if (skip_depth_ > 0) {
      ++skip_depth_;
      return;
    }
    std::string ns = Utf8(uri);
    std::string name = Utf8(localname);
    if (xhtml_depth_ > 0) {
      XhtmlStart(ns, name, attrs);
      return;
    }
    if (frames_.empty()) {
      Root(ns, name, attrs);
    } else if (frames_.back().kind == FrameKind::kResourceWrapper) {
      WrappedResource(frames_.back(), ns, name, attrs);
    } else {
      Child(frames_.back(), ns, name, attrs);
    }
  }

  void endElement(const XMLCh* const uri, const XMLCh* const localname,
                  const XMLCh* const qname) override {
    --depth_;
    if (skip_depth_ > 0) {
      --skip_depth_;
      return;
    }
    if (xhtml_depth_ > 0) {
      XhtmlEnd(Utf8(localname));
      if (xhtml_depth_ > 0) return;
      frames_.back().element.set_value(std::move(xhtml_));
      xhtml_.clear();
    }
    Close();
  }

  void characters(const XMLCh* const chars, const XMLSize_t length) override {
    if (skip_depth_ > 0) return;
    if (xhtml_depth_ > 0) {
      CloseOpenTag();
      std::string text;
      AppendUtf8(text, chars, length);
      AppendEscaped(xhtml_, text, EscapeMode::kText);
      return;
    }
    if (frames_.empty() || frames_.back().text_reported) return;
    for (XMLSize_t i = 0; i < length; ++i) {
      if (IsXmlSpace(chars[i])) continue;
      frames_.back().text_reported = true;
      frames_.back().scope.Error(IssueType::kStructure,
                                 "Text content is not allowed here: FHIR XML carries values in "
                                 "the 'value' attribute");
      return;
    }
  }

  // FHIR XML has no DTD. Refusing the DOCTYPE before its internal subset is read means no
  // entity is ever declared: no XXE, no expansion bomb.
  void startDTD(const XMLCh* const, const XMLCh* const, const XMLCh* const) override {
    Abort("a DOCTYPE declaration is not allowed in FHIR XML");
  }

  xc::InputSource* resolveEntity(const XMLCh* const, const XMLCh* const) override {
    Abort("external entities are not allowed in FHIR XML");
  }

  void fatalError(const xc::SAXParseException& e) override { Malformed(e); }
  void error(const xc::SAXParseException& e) override { Malformed(e); }

 private:
  [[noreturn]] void Abort(const std::string& message) const {
    std::string where;
    if (locator_ != nullptr) {
      where = " at line " + std::to_string(locator_->getLineNumber()) + ", column " +
              std::to_string(locator_->getColumnNumber());
    }
    throw AbortParse{common::InvalidError("Malformed XML" + where + ": " + message)};
  }

  [[noreturn]] static void Malformed(const xc::SAXParseException& e) {
    throw AbortParse{common::InvalidError(
        "Malformed XML at line " + std::to_string(e.getLineNumber()) + ", column " +
        std::to_string(e.getColumnNumber()) + ": " + Utf8(e.getMessage()))};
  }

  void Skip() { skip_depth_ = 1; }

  void Root(const std::string& ns, const std::string& name, const xc::Attributes& attrs) {
    const TypeDef* type = defs_.FindResource(name);
    if (type == nullptr) {
      throw AbortParse{
          common::InvalidError("\"" + name + "\" is not a FHIR R4 resource type")};
    }
    // Children are checked against the root's namespace, so a document in the wrong namespace
    // gets one issue rather than one per element.
    expected_ns_ = ns;
    Frame& f = frames_.emplace_back(FrameKind::kResource, Element(nullptr, type),
                                    IssueScope(buffer_, type->name));
    if (ns != kFhirXmlNamespace) {
      f.scope.Error(IssueType::kStructure, "The resource element must be in the FHIR namespace " +
                                               std::string(kFhirXmlNamespace) + ", found " +
                                               NamespaceName(ns));
    }
    Attributes(f, attrs);
  }

  void WrappedResource(Frame& wrapper, const std::string& ns, const std::string& name,
                       const xc::Attributes& attrs) {
    if (ns != expected_ns_) {
      WrongNamespace(wrapper.scope.Child(name), name, expected_ns_, ns);
      return;
    }
    const TypeDef* type = defs_.FindResource(name);
    if (type == nullptr || wrapper.wraps) {
      wrapper.reported = true;
      wrapper.scope.Error(IssueType::kStructure,
                          type == nullptr
                              ? Cat({"\"", name, "\" is not a FHIR R4 resource type"})
                              : Cat({"'", wrapper.element.name(), "' holds exactly one resource"}));
      Skip();
      return;
    }
    wrapper.wraps = true;
    // The wrapper adds no FHIRPath step: Bundle.entry[0].resource.id, not ...resource.Patient.id.
    Frame& f = frames_.emplace_back(FrameKind::kResource, Element(wrapper.element.def(), type),
                                    wrapper.scope);
    Attributes(f, attrs);
  }

  void Child(Frame& parent, const std::string& ns, const std::string& name,
             const xc::Attributes& attrs) {
    const TypeDef& type = *parent.element.type();
    Resolved r = detail::ResolveElementName(type, name);
    if (r.def == nullptr || IsAttributeElement(type, r.def->name)) {
      parent.scope.Child(name).Error(
          IssueType::kStructure,
          r.def == nullptr ? UnknownElementMessage(type, name)
                           : "'" + name + "' is an attribute in FHIR XML, not an element");
      Skip();
      return;
    }
    bool xhtml = r.type->name == "xhtml";
    std::string_view want = xhtml ? kXhtmlNamespace : std::string_view(expected_ns_);
    if (ns != want) {
      WrongNamespace(parent.scope.Child(name), name, want, ns);
      return;
    }
    std::size_t index = parent.NextIndex(r.def);
    std::string segment = PathSegment(r);
    if (!r.def->array && index > 0) {
      parent.scope.Child(segment).Error(IssueType::kStructure,
                                        "'" + r.def->name + "' is a single value: it must not repeat");
      Skip();
      return;
    }
    IssueScope scope = r.def->array ? parent.scope.Child(segment, index) : parent.scope.Child(segment);
    if (r.def->index < parent.last_index) {
      scope.Warning(IssueType::kStructure,
                    "'" + name + "' is out of order: FHIR XML lists elements in definition order");
    } else {
      parent.last_index = r.def->index;
    }
    FrameKind kind = r.type->is_resource()    ? FrameKind::kResourceWrapper
                     : xhtml                  ? FrameKind::kXhtml
                     : r.type->is_primitive() ? FrameKind::kPrimitive
                                              : FrameKind::kComplex;
    Frame& f = frames_.emplace_back(kind, Element(r.def, r.type), std::move(scope));
    if (kind == FrameKind::kXhtml) {
      XhtmlStart(ns, name, attrs);
      return;
    }
    Attributes(f, attrs);
  }

  void Attributes(Frame& f, const xc::Attributes& attrs) {
    const TypeDef& type = *f.element.type();
    for (XMLSize_t i = 0; i < attrs.getLength(); ++i) {
      std::string ns = Utf8(attrs.getURI(i));
      std::string name = Utf8(attrs.getLocalName(i));
      // Schema location hints are for validators; Xerces is told not to follow them.
      if (ns == kXsiNamespace && (name == "schemaLocation" || name == "noNamespaceSchemaLocation")) {
        continue;
      }
      bool known = ns.empty() && f.kind != FrameKind::kResourceWrapper &&
                   ((f.kind == FrameKind::kPrimitive && name == "value") ||
                    (IsAttributeElement(type, name) && type.FindElement(name) != nullptr));
      if (!known) {
        f.reported = true;
        f.scope.Error(IssueType::kStructure,
                      "Unknown attribute '" + Utf8(attrs.getQName(i)) + "' on <" +
                          std::string(f.kind == FrameKind::kResource ? type.name
                                                                     : f.element.JsonName()) +
                          ">");
        continue;
      }
      std::string value = Utf8(attrs.getValue(i));
      if (name == "value") {
        PrimitiveValue(f, std::move(value));
        continue;
      }
      const ElementDef* def = type.FindElement(name);
      Element child(def, def->types.front());
      child.set_value(std::move(value));
      f.element.AddChild(std::move(child));
    }
  }

  void PrimitiveValue(Frame& f, std::string value) {
    const TypeDef& type = *f.element.type();
    if (type.json_scalar == model::JsonScalar::kBoolean && value != "true" && value != "false") {
      f.reported = true;
      f.scope.Error(IssueType::kValue, "A FHIR boolean value must be 'true' or 'false'");
      return;
    }
    if (type.json_scalar == model::JsonScalar::kNumber && !IsJsonNumber(value)) {
      f.reported = true;
      f.scope.Error(IssueType::kValue, "A FHIR " + type.name + " value must be a number");
      return;
    }
    f.element.set_value(std::move(value));
  }

  void WrongNamespace(const IssueScope& at, const std::string& name, std::string_view want,
                      const std::string& found) {
    at.Error(IssueType::kStructure, "<" + name + "> must be in the namespace " +
                                        (want.empty() ? std::string("(none)") : std::string(want)) +
                                        ", found " + NamespaceName(found));
    Skip();
  }

  static std::string NamespaceName(const std::string& ns) {
    return ns.empty() ? "no namespace" : "'" + ns + "'";
  }

  // Pops the innermost frame and attaches its element to the parent (or makes it the root).
  void Close() {
    Frame f = std::move(frames_.back());
    frames_.pop_back();
    switch (f.kind) {
      case FrameKind::kResource:
        f.element.SortChildren();
        if (frames_.empty()) {
          root_ = std::move(f.element);
        } else {
          frames_.back().resource = std::move(f.element);
        }
        return;
      case FrameKind::kResourceWrapper:
        if (f.resource.has_value()) {
          frames_.back().element.AddChild(std::move(*f.resource));
        } else if (!f.reported) {
          f.scope.Error(IssueType::kStructure,
                        "'" + std::string(f.element.name()) + "' must contain a resource element");
        }
        return;
      case FrameKind::kPrimitive:
        if (!f.element.has_value() && f.element.children().empty()) {
          if (!f.reported) {
            f.scope.Error(IssueType::kStructure,
                          "A primitive must have a value attribute or an extension");
          }
          return;
        }
        break;
      case FrameKind::kComplex:
        if (f.element.children().empty()) {
          if (!f.reported) {
            f.scope.Error(IssueType::kStructure,
                          "Empty elements are not allowed: an element needs content");
          }
          return;
        }
        break;
      case FrameKind::kXhtml:
        break;
    }
    f.element.SortChildren();
    frames_.back().element.AddChild(std::move(f.element));
  }

  // XHTML is re-serialised as it streams by: elements by local name with a default namespace
  // declaration wherever the namespace changes (always on the div), attributes in document
  // order, empty elements as <br/>. Comments and processing instructions are dropped: they are
  // not narrative content.
  void XhtmlStart(const std::string& ns, const std::string& name, const xc::Attributes& attrs) {
    CloseOpenTag();
    xhtml_ += '<';
    xhtml_ += name;
    if (xhtml_ns_.empty() || xhtml_ns_.back() != ns) {
      xhtml_ += " xmlns=\"";
      AppendEscaped(xhtml_, ns, EscapeMode::kAttribute);
      xhtml_ += '"';
    }
    std::vector<std::string> declared;
    for (XMLSize_t i = 0; i < attrs.getLength(); ++i) {
      std::string attr_ns = Utf8(attrs.getURI(i));
      std::string attr_name;
      if (attr_ns.empty()) {
        attr_name = Utf8(attrs.getLocalName(i));
      } else if (attr_ns == kXmlNamespace) {
        attr_name = "xml:" + Utf8(attrs.getLocalName(i));
      } else {
        attr_name = Utf8(attrs.getQName(i));
        std::string prefix = attr_name.substr(0, attr_name.find(':'));
        bool seen = false;
        for (const auto& d : declared) seen |= d == prefix;
        if (!seen) {
          xhtml_ += " xmlns:" + prefix + "=\"";
          AppendEscaped(xhtml_, attr_ns, EscapeMode::kAttribute);
          xhtml_ += '"';
          declared.push_back(prefix);
        }
      }
      xhtml_ += ' ';
      xhtml_ += attr_name;
      xhtml_ += "=\"";
      AppendEscaped(xhtml_, Utf8(attrs.getValue(i)), EscapeMode::kAttribute);
      xhtml_ += '"';
    }
    xhtml_ns_.push_back(ns);
    ++xhtml_depth_;
    xhtml_open_tag_ = true;
  }

  void XhtmlEnd(const std::string& name) {
    --xhtml_depth_;
    xhtml_ns_.pop_back();
    if (xhtml_open_tag_) {
      xhtml_ += "/>";
      xhtml_open_tag_ = false;
      return;
    }
    xhtml_ += "</";
    xhtml_ += name;
    xhtml_ += '>';
  }

  void CloseOpenTag() {
    if (!xhtml_open_tag_) return;
    xhtml_ += '>';
    xhtml_open_tag_ = false;
  }

  const definitions::Definitions& defs_;
  const XmlParseOptions& options_;
  const xc::Locator* locator_ = nullptr;
  model::OperationOutcomeSink buffer_;
  std::deque<Frame> frames_;
  std::optional<Element> root_;
  std::string expected_ns_;
  std::size_t depth_ = 0;        // open elements, XHTML and ignored ones included
  std::size_t skip_depth_ = 0;   // > 0 inside an element that was reported and is ignored
  std::size_t xhtml_depth_ = 0;  // > 0 inside Narrative.div
  std::string xhtml_;
  std::vector<std::string> xhtml_ns_;
  bool xhtml_open_tag_ = false;  // "<p ..." written, '>' or "/>" not yet
};

void Configure(xc::SAX2XMLReader& reader, xc::SecurityManager& security, TreeHandler& handler) {
  reader.setFeature(xc::XMLUni::fgSAX2CoreNameSpaces, true);
  reader.setFeature(xc::XMLUni::fgSAX2CoreNameSpacePrefixes, false);
  reader.setFeature(xc::XMLUni::fgSAX2CoreValidation, false);
  reader.setFeature(xc::XMLUni::fgXercesDynamic, false);
  // Nothing is fetched: no schema named by xsi:schemaLocation, no external DTD, no entity.
  reader.setFeature(xc::XMLUni::fgXercesSchema, false);
  reader.setFeature(xc::XMLUni::fgXercesLoadSchema, false);
  reader.setFeature(xc::XMLUni::fgXercesLoadExternalDTD, false);
  reader.setFeature(xc::XMLUni::fgXercesSkipDTDValidation, true);
  reader.setFeature(xc::XMLUni::fgXercesDisableDefaultEntityResolution, true);
  // Defence in depth behind the DOCTYPE refusal in TreeHandler::startDTD.
  security.setEntityExpansionLimit(16);
  reader.setProperty(xc::XMLUni::fgXercesSecurityManager, &security);
  reader.setContentHandler(&handler);
  reader.setErrorHandler(&handler);
  reader.setLexicalHandler(&handler);
  reader.setEntityResolver(&handler);
}

// ---- Writer ------------------------------------------------------------------------------------

void AppendAttribute(std::string& out, std::string_view name, std::string_view value) {
  out += ' ';
  out += name;
  out += "=\"";
  AppendEscaped(out, value, EscapeMode::kAttribute);
  out += '"';
}

bool IsAttributeChild(const Element& parent, const Element& child) {
  return child.type() != nullptr && child.type()->is_primitive() &&
         IsAttributeElement(*parent.type(), child.name());
}

void AppendResourceElement(std::string& out, const Element& resource, bool root);

void AppendElement(std::string& out, const Element& e) {
  std::string name = e.JsonName();
  if (e.is_resource()) {
    out += '<';
    out += name;
    out += '>';
    AppendResourceElement(out, e, false);
    out += "</";
    out += name;
    out += '>';
    return;
  }
  if (e.type()->name == "xhtml") {
    if (e.has_value()) out += e.value();
    return;
  }
  out += '<';
  out += name;
  for (const Element& child : e.children()) {
    if (IsAttributeChild(e, child) && child.has_value()) {
      AppendAttribute(out, child.name(), child.value());
    }
  }
  if (e.type()->is_primitive() && e.has_value()) AppendAttribute(out, "value", e.value());
  bool open = false;
  for (const Element& child : e.children()) {
    if (IsAttributeChild(e, child)) continue;
    if (!open) out += '>';
    open = true;
    AppendElement(out, child);
  }
  if (!open) {
    out += "/>";
    return;
  }
  out += "</";
  out += name;
  out += '>';
}

void AppendResourceElement(std::string& out, const Element& resource, bool root) {
  const std::string& name = resource.type()->name;
  out += '<';
  out += name;
  if (root) {
    out += " xmlns=\"";
    out += kFhirXmlNamespace;
    out += '"';
  }
  if (resource.children().empty()) {
    out += "/>";
    return;
  }
  out += '>';
  for (const Element& child : resource.children()) AppendElement(out, child);
  out += "</";
  out += name;
  out += '>';
}

}  // namespace

common::Result<Element> ParseResourceXml(std::string_view text,
                                         const definitions::Definitions& defs,
                                         model::IssueSink& issues,
                                         const XmlParseOptions& options) {
  if (const common::Status& runtime = detail::EnsureXercesRuntime(); !runtime.ok()) return runtime;
  TreeHandler handler(defs, options);
  try {
    xc::SecurityManager security;
    std::unique_ptr<xc::SAX2XMLReader> reader(xc::XMLReaderFactory::createXMLReader());
    Configure(*reader, security, handler);
    xc::MemBufInputSource source(reinterpret_cast<const XMLByte*>(text.data()), text.size(),
                                 "resource.xml", /*adoptBuffer=*/false);
    reader->parse(source);
  } catch (const AbortParse& abort) {
    return abort.status;
  } catch (const xc::SAXParseException& e) {
    return common::InvalidError("Malformed XML at line " + std::to_string(e.getLineNumber()) +
                                ", column " + std::to_string(e.getColumnNumber()) + ": " +
                                Utf8(e.getMessage()));
  } catch (const xc::SAXException& e) {
    return common::InvalidError("Malformed XML: " + Utf8(e.getMessage()));
  } catch (const xc::XMLException& e) {
    return common::InvalidError("Malformed XML: " + Utf8(e.getMessage()));
  } catch (const xc::OutOfMemoryException&) {
    return common::Status(common::StatusCode::kTooLarge,
                          "The XML document is too large to parse");
  }
  return handler.Take(issues);
}

void AppendResourceXml(std::string& out, const Element& resource) {
  AppendResourceElement(out, resource, true);
}

std::string WriteResourceXml(const Element& resource) {
  std::string out;
  out.reserve(1024);
  AppendResourceXml(out, resource);
  return out;
}

namespace {

// The end of the xhtml div that starts at `at` (just past its matching </div>), counting nested
// divs; npos when it does not end.
std::size_t EndOfXhtml(std::string_view xml, std::size_t at) {
  int depth = 0;
  std::size_t i = at;
  while (i < xml.size()) {
    std::size_t tag = xml.find('<', i);
    if (tag == std::string_view::npos) return tag;
    std::size_t close = xml.find('>', tag);
    if (close == std::string_view::npos) return close;
    std::string_view t = xml.substr(tag, close - tag + 1);
    if (t.substr(0, 4) == "<div" && (t.size() == 5 || t[4] == ' ' || t[4] == '>' || t[4] == '/')) {
      if (t[t.size() - 2] != '/') ++depth;
    } else if (t.substr(0, 6) == "</div>" || t.substr(0, 5) == "</div") {
      if (--depth == 0) return close + 1;
    }
    i = close + 1;
  }
  return std::string_view::npos;
}

}  // namespace

std::string PrettyXml(std::string_view compact) {
  std::string out;
  out.reserve(compact.size() * 5 / 4);
  int depth = 0;
  std::size_t i = 0;
  while (i < compact.size()) {
    std::size_t close = compact.find('>', i);
    if (compact[i] != '<' || close == std::string_view::npos) {  // not ours: leave the rest
      out.append(compact.substr(i));
      break;
    }
    std::string_view tag = compact.substr(i, close - i + 1);
    bool end_tag = tag.size() > 1 && tag[1] == '/';
    bool self_closing = tag.size() > 1 && tag[tag.size() - 2] == '/';
    if (end_tag) --depth;
    if (!out.empty()) out += '\n';
    out.append(static_cast<std::size_t>(depth) * 2, ' ');
    if (tag.substr(0, 4) == "<div" && tag.find("http://www.w3.org/1999/xhtml") != std::string_view::npos) {
      std::size_t end = self_closing ? close + 1 : EndOfXhtml(compact, i);
      if (end == std::string_view::npos) end = compact.size();
      out.append(compact.substr(i, end - i));
      i = end;
      continue;
    }
    out.append(tag);
    if (!end_tag && !self_closing) ++depth;
    i = close + 1;
  }
  return out;
}

}  // namespace fhir::format
