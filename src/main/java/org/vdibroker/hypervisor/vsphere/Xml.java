package org.vdibroker.hypervisor.vsphere;

import java.io.ByteArrayInputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;

/**
 * The little XML the vSphere SOAP client needs: escaping for the requests it writes, and a namespace-aware DOM parser
 * (DTDs and external entities refused) with child lookups by local name for the answers it reads.
 */
final class Xml {

    static final String XSI = "http://www.w3.org/2001/XMLSchema-instance";
    static final String XSD = "http://www.w3.org/2001/XMLSchema";

    private static final DocumentBuilderFactory FACTORY = factory();

    private Xml() {
    }

    static String escape(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder b = new StringBuilder(s.length() + 8);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '&' -> b.append("&amp;");
                case '"' -> b.append("&quot;");
                case '\'' -> b.append("&apos;");
                default -> {
                    // characters XML 1.0 cannot carry are dropped rather than sent broken
                    if (c >= 0x20 || c == '\t' || c == '\n' || c == '\r') {
                        b.append(c);
                    }
                }
            }
        }
        return b.toString();
    }

    /** {@code <name>text</name>}, the text escaped. */
    static String el(String name, Object text) {
        return "<" + name + ">" + escape(String.valueOf(text)) + "</" + name + ">";
    }

    static Document parse(byte[] body) throws Exception {
        DocumentBuilder builder;
        synchronized (FACTORY) {
            builder = FACTORY.newDocumentBuilder();
        }
        builder.setErrorHandler(null);
        return builder.parse(new ByteArrayInputStream(body));
    }

    static List<Element> children(Element parent, String localName) {
        List<Element> found = new ArrayList<>();
        if (parent == null) {
            return found;
        }
        for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element e && (localName == null || localName.equals(e.getLocalName()))) {
                found.add(e);
            }
        }
        return found;
    }

    static Optional<Element> child(Element parent, String localName) {
        List<Element> found = children(parent, localName);
        return found.isEmpty() ? Optional.empty() : Optional.of(found.get(0));
    }

    /** The element at a path of local names separated by '/', e.g. {@code info/state}. */
    static Optional<Element> at(Element parent, String path) {
        Element current = parent;
        for (String part : path.split("/")) {
            Optional<Element> next = child(current, part);
            if (next.isEmpty()) {
                return Optional.empty();
            }
            current = next.get();
        }
        return Optional.of(current);
    }

    static String text(Element parent, String path) {
        return at(parent, path).map(e -> e.getTextContent().trim()).orElse(null);
    }

    /** The type an element declares with {@code xsi:type}, without its namespace prefix; null when none. */
    static String xsiType(Element e) {
        String type = e.getAttributeNS(XSI, "type");
        if (type == null || type.isEmpty()) {
            return null;
        }
        int colon = type.indexOf(':');
        return colon < 0 ? type : type.substring(colon + 1);
    }

    /**
     * An element of an answer written back as request XML named {@code name}: children by local name (the request's
     * default namespace is vim25), {@code xsi:type} and a reference's {@code type} kept, text escaped. Used to send a
     * device read from a VM back in an edit.
     */
    static String write(Element e, String name) {
        StringBuilder b = new StringBuilder();
        write(e, name, b);
        return b.toString();
    }

    private static void write(Element e, String name, StringBuilder b) {
        b.append('<').append(name);
        String type = e.getAttributeNS(XSI, "type");
        if (type != null && !type.isEmpty()) {
            // XML Schema types keep their xsd prefix (declared by the envelope); vim25 types go without one
            boolean schemaType = type.contains(":") && XSD.equals(e.lookupNamespaceURI(type.substring(0,
                    type.indexOf(':'))));
            b.append(" xsi:type=\"").append(escape(schemaType ? "xsd:" + xsiType(e) : xsiType(e))).append('"');
        }
        if (e.hasAttribute("type")) {
            b.append(" type=\"").append(escape(e.getAttribute("type"))).append('"');
        }
        b.append('>');
        List<Element> kids = children(e, null);
        if (kids.isEmpty()) {
            b.append(escape(e.getTextContent()));
        }
        for (Element k : kids) {
            write(k, k.getLocalName(), b);
        }
        b.append("</").append(name).append('>');
    }

    /** A managed object reference element ({@code <x type="VirtualMachine">vm-1</x>}). */
    static Mor mor(Element e) {
        return e == null ? null : new Mor(e.getAttribute("type"), e.getTextContent().trim());
    }

    private static DocumentBuilderFactory factory() {
        try {
            DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
            f.setNamespaceAware(true);
            f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
            f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            f.setFeature("http://xml.org/sax/features/external-general-entities", false);
            f.setFeature("http://xml.org/sax/features/external-parameter-entities", false);
            f.setXIncludeAware(false);
            f.setExpandEntityReferences(false);
            return f;
        } catch (ParserConfigurationException e) {
            throw new IllegalStateException(e);
        }
    }
}
