package org.vdibroker.hypervisor.hyperv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.vdibroker.hypervisor.HostCapacity;
import org.vdibroker.hypervisor.HypervisorDefinition;
import org.vdibroker.hypervisor.InvalidHypervisorConfigException;

/** What an admin may write into a Hyper-V hypervisor's definition, and the error naming the property otherwise. */
class HyperVSettingsTest {

    private final HyperVDriverFactory factory = new HyperVDriverFactory();

    @Test
    void aBareHostNameMeansWinRmOverHttpsOn5986() {
        HyperVSettings s = HyperVSettings.validate(definition("hv01.example.com", Map.of()));
        assertThat(s.url()).isEqualTo("https://hv01.example.com:5986/wsman");
        assertThat(s.host()).isEqualTo("hv01.example.com");
        assertThat(s.authScheme()).isEqualTo("ntlm");
        assertThat(s.rdpTarget()).isEqualTo(HyperVSettings.RdpTarget.GUEST);
        assertThat(s.vmConnectPort()).isEqualTo(2179);
        assertThat(s.toString()).doesNotContain("pw");
        assertThat(factory.id()).isEqualTo("hyperv");
    }

    @Test
    void plainHttpNeedsToBeAllowedExplicitly() {
        assertInvalid(definition("http://hv01:5985/wsman", Map.of()), "endpoint");
        assertThat(HyperVSettings.validate(definition("http://hv01:5985/wsman", Map.of("allowHttp", "true"))).url())
                .isEqualTo("http://hv01:5985/wsman");
        assertInvalid(definition("https://user:pw@hv01:5986/wsman", Map.of()), "endpoint");
    }

    @Test
    void badValuesAreRefusedNamingTheProperty() {
        assertInvalid(definition("hv01", Map.of("auth", "digest")), "auth");
        assertInvalid(definition("hv01", Map.of("rdpTarget", "vnc")), "rdpTarget");
        assertInvalid(definition("hv01", Map.of("vmConnectPort", "70000")), "vmConnectPort");
        assertInvalid(definition("hv01", Map.of("diskDirectory", "relative\\dir")), "diskDirectory");
        assertInvalid(definition("hv01", Map.of("callTimeoutMs", "soon")), "callTimeoutMs");
        assertInvalid(definition("hv01", Map.of("swtich", "typo")), "swtich");
        Map<String, String> noUser = new HashMap<>();
        assertInvalid(new HypervisorDefinition("hv", "hyperv", "hv01", noUser, Map.of("password", "pw"),
                new HostCapacity(0, 0, 1)), "username");
        assertInvalid(new HypervisorDefinition("hv", "hyperv", "hv01", Map.of("username", "u"),
                Map.of("token", "x"), new HostCapacity(0, 0, 1)), "token");
    }

    private void assertInvalid(HypervisorDefinition definition, String property) {
        assertThatThrownBy(() -> factory.validate(definition)).isInstanceOf(InvalidHypervisorConfigException.class)
                .hasMessageContaining(property);
    }

    private static HypervisorDefinition definition(String endpoint, Map<String, String> extra) {
        Map<String, String> config = new HashMap<>(Map.of("username", "svc-vdi"));
        config.putAll(extra);
        return new HypervisorDefinition("hv", "hyperv", endpoint, config, Map.of("password", "pw"),
                new HostCapacity(0, 0, 10));
    }
}
