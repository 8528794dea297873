package org.vdibroker.protocol;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.PrivateKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.bouncycastle.cert.jcajce.JcaCertStore;
import org.bouncycastle.cms.CMSException;
import org.bouncycastle.cms.CMSProcessableByteArray;
import org.bouncycastle.cms.CMSSignedDataGenerator;
import org.bouncycastle.cms.jcajce.JcaSignerInfoGeneratorBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;

/**
 * Signs {@code .rdp} files the way Windows' {@code rdpsign} does, so that the Remote Desktop client shows the
 * publisher instead of an "unknown remote connection" warning:
 * <ol>
 * <li>{@code alternate full address} is added, equal to {@code full address}, when the file has none (otherwise a
 * client could be sent elsewhere through the unsigned setting);</li>
 * <li>the secure settings present in the file, in the order of {@link #SECURE_SETTINGS}, are named in
 * {@code signscope:s:};</li>
 * <li>the signed content is those lines and the {@code signscope} line, each followed by CRLF, then a NUL, in
 * UTF-16LE;</li>
 * <li>the signature is a detached CMS SignedData (SHA-256, the signer's certificate included, no signed
 * attributes), behind a 12-byte little-endian header (0x00010001, 1, length of the CMS), in base64 as
 * {@code signature:s:}.</li>
 * </ol>
 */
public final class RdpSigner {

    /** The settings a signature covers when present: file name and the name {@code signscope} uses. */
    static final List<String[]> SECURE_SETTINGS = List.of(
            new String[] { "full address", "Full Address" },
            new String[] { "alternate full address", "Alternate Full Address" },
            new String[] { "pcb", "PCB" },
            new String[] { "use redirection server name", "Use Redirection Server Name" },
            new String[] { "server port", "Server Port" },
            new String[] { "negotiate security layer", "Negotiate Security Layer" },
            new String[] { "enablecredsspsupport", "EnableCredSspSupport" },
            new String[] { "disableconnectionsharing", "DisableConnectionSharing" },
            new String[] { "autoreconnection enabled", "AutoReconnection Enabled" },
            new String[] { "gatewayhostname", "GatewayHostname" },
            new String[] { "gatewayusagemethod", "GatewayUsageMethod" },
            new String[] { "gatewayprofileusagemethod", "GatewayProfileUsageMethod" },
            new String[] { "gatewaycredentialssource", "GatewayCredentialsSource" },
            new String[] { "support url", "Support URL" },
            new String[] { "promptcredentialonce", "PromptCredentialOnce" },
            new String[] { "require pre-authentication", "Require pre-authentication" },
            new String[] { "pre-authentication server address", "Pre-authentication server address" },
            new String[] { "alternate shell", "Alternate Shell" },
            new String[] { "shell working directory", "Shell Working Directory" },
            new String[] { "remoteapplicationprogram", "RemoteApplicationProgram" },
            new String[] { "remoteapplicationexpandworkingdir", "RemoteApplicationExpandWorkingdir" },
            new String[] { "remoteapplicationmode", "RemoteApplicationMode" },
            new String[] { "remoteapplicationguid", "RemoteApplicationGuid" },
            new String[] { "remoteapplicationname", "RemoteApplicationName" },
            new String[] { "remoteapplicationicon", "RemoteApplicationIcon" },
            new String[] { "remoteapplicationfile", "RemoteApplicationFile" },
            new String[] { "remoteapplicationfileextensions", "RemoteApplicationFileExtensions" },
            new String[] { "remoteapplicationcmdline", "RemoteApplicationCmdLine" },
            new String[] { "remoteapplicationexpandcmdline", "RemoteApplicationExpandCmdLine" },
            new String[] { "prompt for credentials", "Prompt For Credentials" },
            new String[] { "authentication level", "Authentication Level" },
            new String[] { "audiomode", "AudioMode" },
            new String[] { "redirectdrives", "RedirectDrives" },
            new String[] { "redirectprinters", "RedirectPrinters" },
            new String[] { "redirectcomports", "RedirectCOMPorts" },
            new String[] { "redirectsmartcards", "RedirectSmartCards" },
            new String[] { "redirectposdevices", "RedirectPOSDevices" },
            new String[] { "redirectclipboard", "RedirectClipboard" },
            new String[] { "devicestoredirect", "DevicesToRedirect" },
            new String[] { "drivestoredirect", "DrivesToRedirect" },
            new String[] { "loadbalanceinfo", "LoadBalanceInfo" },
            new String[] { "redirectdirectx", "RedirectDirectX" },
            new String[] { "rdgiskdcproxy", "RDGIsKDCProxy" },
            new String[] { "kdcproxyname", "KDCProxyName" },
            new String[] { "eventloguploadaddress", "EventLogUploadAddress" });

    private static final int HEADER_VERSION = 0x00010001;
    private static final int HEADER_TYPE = 1;

    private final PrivateKey key;
    private final List<X509Certificate> chain;

    public RdpSigner(PrivateKey key, List<X509Certificate> chain) {
        if (chain.isEmpty()) {
            throw new IllegalArgumentException("a signing certificate is needed");
        }
        this.key = key;
        this.chain = List.copyOf(chain);
    }

    public X509Certificate certificate() {
        return chain.get(0);
    }

    /** The file with {@code alternate full address}, {@code signscope} and {@code signature} added. */
    public String sign(RdpFile file) {
        RdpFile.Setting full = file.get("full address");
        if (full != null && file.get("alternate full address") == null) {
            file.set("alternate full address", full.type(), full.value());
        }
        List<String> scope = new ArrayList<>();
        StringBuilder signed = new StringBuilder();
        for (String[] secure : SECURE_SETTINGS) {
            RdpFile.Setting s = file.get(secure[0]);
            if (s != null) {
                scope.add(secure[1]);
                signed.append(s.line()).append("\r\n");
            }
        }
        if (scope.isEmpty()) {
            throw new IllegalArgumentException("an .rdp file without secure settings cannot be signed");
        }
        String signscope = "signscope:s:" + String.join(",", scope);
        signed.append(signscope).append("\r\n").append('\0');
        byte[] cms = cms(signed.toString().getBytes(StandardCharsets.UTF_16LE));
        ByteBuffer blob = ByteBuffer.allocate(12 + cms.length).order(ByteOrder.LITTLE_ENDIAN);
        blob.putInt(HEADER_VERSION).putInt(HEADER_TYPE).putInt(cms.length).put(cms);
        return file.render() + signscope + "\r\n" + "signature:s:" + Base64.getEncoder().encodeToString(blob.array())
                + "\r\n";
    }

    private byte[] cms(byte[] content) {
        try {
            CMSSignedDataGenerator generator = new CMSSignedDataGenerator();
            String algorithm = "SHA256with" + ("EC".equals(key.getAlgorithm()) ? "ECDSA" : "RSA");
            generator.addSignerInfoGenerator(new JcaSignerInfoGeneratorBuilder(
                    new JcaDigestCalculatorProviderBuilder().build())
                    .setDirectSignature(true) // no signed attributes, as rdpsign
                    .build(new JcaContentSignerBuilder(algorithm).build(key), certificate()));
            generator.addCertificates(new JcaCertStore(chain));
            // detached: the content is rebuilt by the client from the file's own lines
            return generator.generate(new CMSProcessableByteArray(content), false).getEncoded();
        } catch (OperatorCreationException | CMSException | CertificateEncodingException
                | java.io.IOException e) {
            throw new IllegalStateException("signing the .rdp file failed: " + e.getMessage(), e);
        }
    }
}
