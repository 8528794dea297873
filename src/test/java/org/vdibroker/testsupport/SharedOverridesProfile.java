package org.vdibroker.testsupport;

import io.quarkus.test.junit.QuarkusTestProfile;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.vdibroker.protocol.TestCertificates;

/**
 * One test profile for the in-process classes whose settings do not get in each other's way, instead of a profile
 * each: every distinct profile costs the suite a build of the application when the tests are discovered (about 11 s
 * on 2 cores) and a restart when its classes run (about 5 s). Each key below is what one class needs and changes
 * nothing the others check:
 * <ul>
 * <li>libvirt (SpiceConsoleTest, LibvirtProvisioningProblemsTest): calls may take 15 s on a busy host; tickets of
 * 40 s, long enough for a viewer; provisioning back-off as in production, scaled down (2 s doubling up to 30 s).
 * The other classes provision nothing that fails, so the back-off never applies to them.</li>
 * <li>.rdp files (ConnectionFileSettingsTest): signed with a code-signing certificate made here, an RD Gateway.
 * The libvirt classes only ask for .rdp files to get the 409 of a desktop without a guest address.</li>
 * <li>sign-in behind a proxy (TrustedProxyTest, UntrustedProxyTest): forwarding on, 127.0.0.1 the only trusted
 * proxy, 3 sign-ins per client address, Keycloak unreachable. The other classes send no forwarding headers and do
 * not sign in through the broker.</li>
 * </ul>
 */
public class SharedOverridesProfile implements QuarkusTestProfile {

    /** The .rdp signing keystore the profile writes, and its password. */
    public static final Path RDP_KEYSTORE = Path.of("target", "rdp-signing", "broker.p12").toAbsolutePath();
    public static final String RDP_KEYSTORE_PASSWORD = "keystore-pass";

    /** The only trusted proxy: the address the test client connects from by default. */
    public static final String TRUSTED_PROXY = "127.0.0.1";

    @Override
    public Map<String, String> getConfigOverrides() {
        Map<String, String> overrides = new HashMap<>();
        // libvirt
        overrides.put("broker.tickets.lifetime", "40s");
        overrides.put("broker.pool-manager.call-timeout", "15s");
        overrides.put("broker.pool-manager.provision-backoff.initial", "2s");
        overrides.put("broker.pool-manager.provision-backoff.max", "30s");
        // .rdp signing and RD Gateway, with a certificate made as an operator would
        TestCertificates.keystore(RDP_KEYSTORE,
                TestCertificates.selfSigned("RSA", "vdi-broker rdp publisher", KeyPurposeId.id_kp_codeSigning),
                RDP_KEYSTORE_PASSWORD);
        overrides.put("broker.rdp.signing.keystore", RDP_KEYSTORE.toString());
        overrides.put("broker.rdp.signing.keystore-password", RDP_KEYSTORE_PASSWORD);
        overrides.put("broker.rdp.gateway-host", "gateway.example.com");
        // sign-in behind a proxy
        overrides.put("quarkus.http.proxy.proxy-address-forwarding", "true");
        overrides.put("quarkus.http.proxy.allow-x-forwarded", "true");
        overrides.put("quarkus.http.proxy.trusted-proxies", TRUSTED_PROXY);
        overrides.put("broker.login.rate-limit.per-address", "3");
        overrides.put("broker.login.rate-limit.per-user", "1000");
        overrides.put("broker.login.token-endpoint", "http://127.0.0.1:9/realms/vdi/protocol/openid-connect/token");
        return overrides;
    }
}
