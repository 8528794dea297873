package org.vdibroker.protocol;

import io.quarkus.runtime.Startup;
import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.jboss.logging.Logger;
import org.vdibroker.BrokerConfig;

/**
 * The certificate {@code .rdp} files are signed with: a PKCS#12 keystore named by {@code broker.rdp.signing.*}.
 * Without one the broker signs nothing and says so once at start (and in readiness details). A keystore that is
 * configured but unusable stops the start: an operator who asked for signing must not silently get unsigned files.
 */
@ApplicationScoped
@Startup
public class RdpSigning {

    private static final Logger LOG = Logger.getLogger(RdpSigning.class);
    private static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
    private static final String CODE_SIGNING = "1.3.6.1.5.5.7.3.3";

    @Inject
    BrokerConfig config;

    Clock clock = Clock.systemUTC();

    private RdpSigner signer;

    @PostConstruct
    void init() {
        BrokerConfig.Rdp.Signing signing = config.rdp().signing();
        if (signing.keystore().isEmpty()) {
            LOG.warn("No .rdp signing certificate configured (broker.rdp.signing.keystore): .rdp files are served"
                    + " unsigned, and current Windows clients warn about them and turn redirections off");
            return;
        }
        signer = load(signing.keystore().get(), signing.keystorePassword().orElse(""),
                signing.alias().orElse(null));
        X509Certificate cert = signer.certificate();
        LOG.infof("Signing .rdp files as %s (SHA-1 thumbprint %s, valid until %s)",
                cert.getSubjectX500Principal().getName(), thumbprint(cert, "SHA-1"), cert.getNotAfter().toInstant());
        if (!cert.getNotAfter().toInstant().isAfter(clock.instant())) {
            LOG.warnf("The .rdp signing certificate expired on %s: clients will not trust the signature",
                    cert.getNotAfter().toInstant());
        }
    }

    /** The signer, when a certificate is configured. */
    public Optional<RdpSigner> signer() {
        return Optional.ofNullable(signer);
    }

    /** Upper-case hex digest of the signing certificate (SHA-1 is what Windows' trusted-publisher policy names). */
    public static String thumbprint(X509Certificate cert, String algorithm) {
        try {
            return HexFormat.of().withUpperCase().formatHex(MessageDigest.getInstance(algorithm)
                    .digest(cert.getEncoded()));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    static RdpSigner load(Path path, String password, String alias) {
        KeyStore store;
        try (InputStream in = Files.newInputStream(path)) {
            store = KeyStore.getInstance("PKCS12");
            store.load(in, password.toCharArray());
        } catch (IOException | GeneralSecurityException e) {
            // the keystore's password never appears in the message
            throw new IllegalStateException("cannot read the .rdp signing keystore " + path + ": "
                    + e.getClass().getSimpleName(), e);
        }
        try {
            String chosen = alias != null ? alias : firstKeyAlias(store);
            if (chosen == null || !store.isKeyEntry(chosen)) {
                throw new IllegalStateException("the .rdp signing keystore " + path + " has no private key"
                        + (alias == null ? "" : " under alias " + alias));
            }
            PrivateKey key = (PrivateKey) store.getKey(chosen, password.toCharArray());
            if (!"RSA".equals(key.getAlgorithm())) {
                throw new IllegalStateException("the .rdp signing key must be RSA, not " + key.getAlgorithm());
            }
            List<X509Certificate> chain = new ArrayList<>();
            for (Certificate c : store.getCertificateChain(chosen)) {
                chain.add((X509Certificate) c);
            }
            checkUsage(chain.get(0));
            return new RdpSigner(key, chain);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot use the .rdp signing keystore " + path + ": "
                    + e.getClass().getSimpleName(), e);
        }
    }

    private static String firstKeyAlias(KeyStore store) throws GeneralSecurityException {
        for (String a : Collections.list(store.aliases())) {
            if (store.isKeyEntry(a)) {
                return a;
            }
        }
        return null;
    }

    /** Windows accepts an .rdp publisher certificate for server authentication or code signing. */
    static void checkUsage(X509Certificate cert) throws CertificateException {
        List<String> usages = cert.getExtendedKeyUsage();
        if (usages == null || !(usages.contains(SERVER_AUTH) || usages.contains(CODE_SIGNING))) {
            throw new IllegalStateException("the .rdp signing certificate " + cert.getSubjectX500Principal().getName()
                    + " needs the extended key usage serverAuth or codeSigning");
        }
        boolean[] keyUsage = cert.getKeyUsage();
        if (keyUsage != null && !keyUsage[0]) {
            throw new IllegalStateException("the .rdp signing certificate's key usage does not allow signatures");
        }
    }
}
