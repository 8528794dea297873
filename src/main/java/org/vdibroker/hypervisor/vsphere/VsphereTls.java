package org.vdibroker.hypervisor.vsphere;

import java.net.Socket;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * TLS trust for a vSphere endpoint: the JDK's CAs (default), one pinned certificate (its SHA-256 fingerprint; the
 * safe way for a self-signed host), or anything (ignoreTlsErrors, for tests).
 */
final class VsphereTls {

    private VsphereTls() {
    }

    /** Null means the JDK's default trust (CAs and host name check). */
    static SSLContext context(VsphereSettings settings) {
        return context(settings.certificateSha256(), settings.ignoreTlsErrors());
    }

    static SSLContext context(byte[] certificateSha256, boolean ignoreTlsErrors) {
        if (certificateSha256 == null && !ignoreTlsErrors) {
            return null;
        }
        try {
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, new TrustManager[] { new Pinned(certificateSha256) }, new SecureRandom());
            return context;
        } catch (Exception e) {
            throw new IllegalStateException("TLS context not created: " + e.getMessage(), e);
        }
    }

    /**
     * Trusts the server whose leaf certificate has the pinned fingerprint (any server when none is pinned). The pin
     * replaces the CA and host name checks: it names exactly one certificate.
     */
    private static final class Pinned extends X509ExtendedTrustManager {
        private final byte[] fingerprint;

        Pinned(byte[] fingerprint) {
            this.fingerprint = fingerprint;
        }

        private void check(X509Certificate[] chain) throws CertificateException {
            if (fingerprint == null) {
                return;
            }
            if (chain == null || chain.length == 0) {
                throw new CertificateException("the server sent no certificate");
            }
            try {
                byte[] actual = MessageDigest.getInstance("SHA-256").digest(chain[0].getEncoded());
                if (!MessageDigest.isEqual(actual, fingerprint)) {
                    throw new CertificateException("the server certificate does not match certificateSha256");
                }
            } catch (NoSuchAlgorithmException e) {
                throw new CertificateException(e);
            }
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            check(chain);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            check(chain);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            check(chain);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            throw new CertificateException("not a server");
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            throw new CertificateException("not a server");
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            throw new CertificateException("not a server");
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
