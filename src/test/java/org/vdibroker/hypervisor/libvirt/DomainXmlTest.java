package org.vdibroker.hypervisor.libvirt;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** How a refresh rewrites a domain definition to hand the guest its new agent secret. */
class DomainXmlTest {

    @Test
    void aRefreshReplacesOnlyTheOemStringsItNamesAndKeepsTheRest() {
        String before = """
                <domain type='kvm'><name>desk-1</name>
                  <sysinfo type='smbios'><oemStrings>
                    <entry>vdi.desktop-id=d-1</entry><entry>vdi.agent-secret=old</entry>
                  </oemStrings></sysinfo>
                  <os><type arch='x86_64'>hvm</type><smbios mode='sysinfo'/></os>
                  <devices><graphics type='spice' passwd='locked'/></devices>
                </domain>""";
        String after = DomainXml.withOemStrings(before, Map.of("vdi.agent-secret", "new"));
        assertThat(after).contains("<entry>vdi.desktop-id=d-1</entry>", "<entry>vdi.agent-secret=new</entry>",
                "passwd=\"locked\"").doesNotContain("=old");
        assertThat(after.split("<smbios ", -1)).hasSize(2);
    }

    @Test
    void aDomainWithoutMetadataGetsItsSysinfoAndAValueIsNeverMarkup() {
        String after = DomainXml.withOemStrings("<domain type='kvm'><name>d</name><os><type>hvm</type></os></domain>",
                Map.of("vdi.agent-secret", "a<b>&'c"));
        assertThat(after).contains("<sysinfo type=\"smbios\"><oemStrings><entry>vdi.agent-secret=a&lt;b&gt;&amp;'c"
                + "</entry></oemStrings></sysinfo>", "<smbios mode=\"sysinfo\"/>");
    }
}
