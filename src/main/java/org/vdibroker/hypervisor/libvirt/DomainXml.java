package org.vdibroker.hypervisor.libvirt;

import java.io.StringReader;
import java.io.StringWriter;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.transform.OutputKeys;
import javax.xml.transform.Transformer;
import javax.xml.transform.TransformerFactory;
import javax.xml.transform.dom.DOMSource;
import javax.xml.transform.stream.StreamResult;
import org.vdibroker.hypervisor.HypervisorException;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;
import org.xml.sax.InputSource;

/** Writes and reads the libvirt XML the driver needs: domains, overlay volumes, graphics devices, capabilities. */
final class DomainXml {

    /** Namespace of the broker's element in a domain's {@code <metadata>}: marks the VMs this broker made. */
    static final String NAMESPACE = "https://vdibroker.org/xmlns/libvirt/desktop/1";
    private static final DateTimeFormatter VALID_TO = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss")
            .withZone(ZoneOffset.UTC);

    private DomainXml() {
    }

    /** What the broker records in a domain's metadata, so revert and delete work from any node. */
    record Desktop(String hypervisorId, String base, String baseFormat, String overlay) {
    }

    /** Where a domain of this host runs: libvirt's domain type and the guest architecture. */
    record Guest(String domainType, String arch) {
    }

    /** A console of a domain (port -1 while it is not running). */
    record Graphics(String type, int port, String listen, Element element) {
    }

    static String domain(String name, Guest guest, int vcpus, long memoryMb, Desktop desktop, String overlayPath,
            LibvirtSettings settings, Map<String, String> metadata, String lockedPassword) {
        StringBuilder x = new StringBuilder(2048);
        x.append("<domain type='").append(attr(guest.domainType())).append("'>\n");
        x.append("  <name>").append(text(name)).append("</name>\n");
        x.append("  <metadata>\n    <vdi:desktop xmlns:vdi='").append(NAMESPACE).append("' hypervisor='")
                .append(attr(desktop.hypervisorId())).append("' base='").append(attr(desktop.base()))
                .append("' base-format='").append(attr(desktop.baseFormat())).append("' overlay='")
                .append(attr(desktop.overlay())).append("'/>\n  </metadata>\n");
        x.append("  <memory unit='MiB'>").append(memoryMb).append("</memory>\n");
        x.append("  <vcpu>").append(vcpus).append("</vcpu>\n");
        if (!metadata.isEmpty()) {
            // the guest reads these as SMBIOS OEM strings (dmidecode -t 11): its desktop id and its agent's secret
            x.append("  <sysinfo type='smbios'>\n    <oemStrings>\n");
            metadata.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> x.append("      <entry>")
                    .append(text(e.getKey() + "=" + e.getValue())).append("</entry>\n"));
            x.append("    </oemStrings>\n  </sysinfo>\n");
        }
        x.append("  <os>\n    <type arch='").append(attr(guest.arch())).append("'>hvm</type>\n")
                .append("    <boot dev='hd'/>\n");
        if (!metadata.isEmpty()) {
            x.append("    <smbios mode='sysinfo'/>\n");
        }
        x.append("  </os>\n  <features><acpi/></features>\n");
        x.append("  <on_poweroff>destroy</on_poweroff>\n  <on_reboot>restart</on_reboot>\n")
                .append("  <on_crash>destroy</on_crash>\n");
        x.append("  <devices>\n");
        String targetDev = switch (settings.diskBus()) {
            case "virtio" -> "vda";
            case "ide" -> "hda";
            default -> "sda";
        };
        x.append("    <disk type='file' device='disk'>\n      <driver name='qemu' type='qcow2'/>\n")
                .append("      <source file='").append(attr(overlayPath)).append("'/>\n")
                .append("      <target dev='").append(targetDev).append("' bus='").append(attr(settings.diskBus()))
                .append("'/>\n    </disk>\n");
        if (settings.network() != null) {
            x.append("    <interface type='network'>\n      <source network='").append(attr(settings.network()))
                    .append("'/>\n      <model type='virtio'/>\n    </interface>\n");
        }
        // consoles start locked: a password nobody knows, long expired, until a ticket is set
        String lockedUntil = VALID_TO.format(Instant.EPOCH.plusSeconds(1));
        for (String console : settings.consoles()) {
            x.append("    <graphics type='").append(console).append("' autoport='yes' listen='")
                    .append(attr(settings.consoleListen())).append("' passwd='")
                    .append(attr(consolePassword(console, lockedPassword)))
                    .append("' passwdValidTo='").append(lockedUntil).append("'>\n")
                    .append("      <listen type='address' address='").append(attr(settings.consoleListen()))
                    .append("'/>\n    </graphics>\n");
        }
        x.append("    <video><model type='").append(settings.consoles().contains("spice") ? "qxl" : "vga")
                .append("'/></video>\n");
        x.append("  </devices>\n</domain>\n");
        return x.toString();
    }

    /** A qcow2 overlay whose backing file is the template's base image. */
    static String overlayVolume(String name, long capacityBytes, String basePath, String baseFormat) {
        return "<volume>\n  <name>" + text(name) + "</name>\n  <capacity unit='bytes'>" + capacityBytes
                + "</capacity>\n  <target><format type='qcow2'/></target>\n  <backingStore>\n    <path>"
                + text(basePath) + "</path>\n    <format type='" + attr(baseFormat) + "'/>\n  </backingStore>\n"
                + "</volume>\n";
    }

    /** The domain's broker metadata, if it has some. */
    static Optional<Desktop> desktop(String domainXml) {
        Document doc = parse(domainXml);
        NodeList list = doc.getElementsByTagNameNS(NAMESPACE, "desktop");
        if (list.getLength() == 0) {
            return Optional.empty();
        }
        Element e = (Element) list.item(0);
        return Optional.of(new Desktop(e.getAttribute("hypervisor"), e.getAttribute("base"),
                e.getAttribute("base-format"), e.getAttribute("overlay")));
    }

    /** The consoles of a domain as its XML shows them. */
    static List<Graphics> graphics(String domainXml) {
        Document doc = parse(domainXml);
        NodeList list = doc.getElementsByTagName("graphics");
        List<Graphics> result = new ArrayList<>();
        for (int i = 0; i < list.getLength(); i++) {
            Element g = (Element) list.item(i);
            if (!(g.getParentNode() instanceof Element parent) || !"devices".equals(parent.getTagName())) {
                continue;
            }
            int port;
            try {
                port = Integer.parseInt(g.getAttribute("port"));
            } catch (NumberFormatException e) {
                port = -1;
            }
            result.add(new Graphics(g.getAttribute("type"), port, g.getAttribute("listen"), g));
        }
        return result;
    }

    /** The graphics device with a new password valid until {@code validTo}, for a live device update. */
    static String withPassword(Graphics graphics, String password, Instant validTo) {
        Element copy = (Element) graphics.element().cloneNode(true);
        copy.setAttribute("passwd", consolePassword(graphics.type(), password));
        // QEMU keeps a password through the whole second it expires in: end one second early, so a ticket never
        // outlives what the broker told the user
        copy.setAttribute("passwdValidTo", VALID_TO.format(validTo.truncatedTo(ChronoUnit.SECONDS).minusSeconds(1)));
        copy.removeAttribute("connected");
        return write(copy);
    }

    /**
     * The password a console takes: VNC authentication uses the first 8 characters of a password and libvirt refuses
     * longer ones, so a VNC console gets the ticket's first 8 characters; a viewer given the whole ticket sends the
     * same 8 (RFB's DES key is 8 bytes). SPICE takes the whole ticket.
     */
    static String consolePassword(String consoleType, String ticket) {
        return "vnc".equals(consoleType) && ticket.length() > 8 ? ticket.substring(0, 8) : ticket;
    }

    /** The domain type and architecture to use on a host, from its capabilities XML. */
    static Guest guest(String capabilitiesXml, String preferredType) {
        Document doc = parse(capabilitiesXml);
        String hostArch = first(doc.getDocumentElement(), "host", "cpu", "arch").map(Node::getTextContent)
                .orElse("x86_64").trim();
        Guest best = null;
        int bestRank = Integer.MAX_VALUE;
        NodeList guests = doc.getElementsByTagName("guest");
        for (int i = 0; i < guests.getLength(); i++) {
            Element guest = (Element) guests.item(i);
            String osType = first(guest, "os_type").map(Node::getTextContent).orElse("").trim();
            Element arch = first(guest, "arch").orElse(null);
            if (!"hvm".equals(osType) || arch == null) {
                continue;
            }
            String archName = arch.getAttribute("name");
            NodeList domains = arch.getElementsByTagName("domain");
            for (int j = 0; j < domains.getLength(); j++) {
                String type = ((Element) domains.item(j)).getAttribute("type");
                int rank = (archName.equals(hostArch) ? 0 : 100) + typeRank(type, preferredType);
                if (rank < bestRank) {
                    best = new Guest(type, archName);
                    bestRank = rank;
                }
            }
        }
        if (best == null || (preferredType != null && !best.domainType().equals(preferredType))) {
            throw new HypervisorException("The host offers no " + (preferredType == null ? "" : preferredType + " ")
                    + "hardware-virtualised (hvm) guests", false);
        }
        return best;
    }

    private static int typeRank(String type, String preferred) {
        if (type.equals(preferred)) {
            return 0;
        }
        return switch (type) {
            case "kvm" -> 1;
            case "xen" -> 2;
            case "qemu" -> 3;
            default -> 10;
        };
    }

    /** The format of a storage volume (qcow2, raw, vpc, vmdk), from its XML; raw when libvirt does not say. */
    static String volumeFormat(String volumeXml) {
        Document doc = parse(volumeXml);
        return first(doc.getDocumentElement(), "target", "format").map(e -> e.getAttribute("type"))
                .filter(s -> !s.isBlank()).orElse("raw");
    }

    static String text(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }

    static String attr(String s) {
        return text(s).replace("'", "&apos;").replace("\"", "&quot;");
    }

    private static Optional<Element> first(Element parent, String... path) {
        Element current = parent;
        for (String name : path) {
            Element next = null;
            for (Node n = current.getFirstChild(); n != null; n = n.getNextSibling()) {
                if (n instanceof Element e && name.equals(e.getTagName())) {
                    next = e;
                    break;
                }
            }
            if (next == null) {
                return Optional.empty();
            }
            current = next;
        }
        return Optional.of(current);
    }

    /**
     * The domain definition with the guest's SMBIOS OEM strings for the keys of {@code metadata} replaced (added where
     * missing), everything else as it was: how a refresh hands the guest a new agent secret.
     */
    static String withOemStrings(String domainXml, Map<String, String> metadata) {
        Document doc = parse(domainXml);
        Element domain = doc.getDocumentElement();
        Element sysinfo = null;
        for (Node n = domain.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element e && "sysinfo".equals(e.getTagName()) && "smbios".equals(e.getAttribute("type"))) {
                sysinfo = e;
            }
        }
        if (sysinfo == null) {
            sysinfo = (Element) domain.appendChild(doc.createElement("sysinfo"));
            sysinfo.setAttribute("type", "smbios");
        }
        Element sys = sysinfo;
        Element oem = first(sys, "oemStrings").orElseGet(() -> (Element) sys.appendChild(
                doc.createElement("oemStrings")));
        List<Node> stale = new ArrayList<>();
        for (Node n = oem.getFirstChild(); n != null; n = n.getNextSibling()) {
            String entry = n.getTextContent();
            if (n instanceof Element && metadata.keySet().stream().anyMatch(k -> entry.startsWith(k + "="))) {
                stale.add(n);
            }
        }
        stale.forEach(oem::removeChild);
        metadata.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> oem
                .appendChild(doc.createElement("entry")).setTextContent(e.getKey() + "=" + e.getValue()));
        Element os = first(domain, "os").orElseThrow(() -> new HypervisorException(
                "libvirt returned a domain definition without <os>", false));
        if (first(os, "smbios").isEmpty()) {
            ((Element) os.appendChild(doc.createElement("smbios"))).setAttribute("mode", "sysinfo");
        }
        return write(domain);
    }

    static Document parse(String xml) {
        try {
            DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
            factory.setNamespaceAware(true);
            factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            factory.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
            factory.setExpandEntityReferences(false);
            return factory.newDocumentBuilder().parse(new InputSource(new StringReader(xml)));
        } catch (Exception e) {
            throw new HypervisorException("libvirt returned XML the broker cannot read: " + e.getMessage(), false);
        }
    }

    private static String write(Element element) {
        try {
            Transformer t = TransformerFactory.newInstance().newTransformer();
            t.setOutputProperty(OutputKeys.OMIT_XML_DECLARATION, "yes");
            StringWriter out = new StringWriter();
            t.transform(new DOMSource(element), new StreamResult(out));
            return out.toString();
        } catch (Exception e) {
            throw new IllegalStateException("cannot write a " + element.getTagName() + " element", e);
        }
    }
}
