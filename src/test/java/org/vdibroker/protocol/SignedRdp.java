package org.vdibroker.protocol;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Reads a signed .rdp file as a verifier does (the content rebuilt from its own lines in {@code signscope} order),
 * and checks the signature with OpenSSL, an implementation independent of the broker's.
 */
public final class SignedRdp {

    private SignedRdp() {
    }

    /** The bytes a verifier checks: the signscope's lines, the signscope line, CRLF each, a NUL, UTF-16LE. */
    public static byte[] signedContent(String file) {
        Map<String, String> lines = new LinkedHashMap<>();
        String scope = null;
        for (String line : file.split("\r\n")) {
            if (line.startsWith("signscope:s:")) {
                scope = line;
            } else if (!line.startsWith("signature:s:") && line.indexOf(':') > 0) {
                lines.put(line.substring(0, line.indexOf(':')), line);
            }
        }
        if (scope == null) {
            throw new IllegalArgumentException("the file is not signed");
        }
        StringBuilder b = new StringBuilder();
        for (String name : scope.substring("signscope:s:".length()).split(",")) {
            String fileName = RdpSigner.SECURE_SETTINGS.stream().filter(s -> s[1].equals(name)).map(s -> s[0])
                    .findFirst().orElseThrow(() -> new IllegalArgumentException("unknown signscope name " + name));
            String line = lines.get(fileName);
            if (line != null) { // a missing line makes the content differ, and verification fail
                b.append(line).append("\r\n");
            }
        }
        b.append(scope).append("\r\n").append('\0');
        return b.toString().getBytes(StandardCharsets.UTF_16LE);
    }

    /** The raw signature blob: rdpsign's 12-byte header, then the DER CMS. */
    public static byte[] signatureBlob(String file) {
        String sig = file.lines().filter(l -> l.startsWith("signature:s:")).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("the file is not signed"))
                .substring("signature:s:".length()).replace(" ", "");
        return Base64.getDecoder().decode(sig);
    }

    public static byte[] cms(String file) {
        byte[] blob = signatureBlob(file);
        int length = ByteBuffer.wrap(blob, 8, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
        return Arrays.copyOfRange(blob, 12, 12 + length);
    }

    /** Whether {@code openssl cms -verify} accepts the file's signature, with {@code caPem} as the trusted root. */
    public static boolean opensslVerifies(String file, String caPem, Path dir)
            throws IOException, InterruptedException {
        Files.createDirectories(dir);
        Path sig = Files.write(dir.resolve("signature.der"), cms(file));
        Path content = Files.write(dir.resolve("content.bin"), signedContent(file));
        Path ca = Files.writeString(dir.resolve("ca.pem"), caPem);
        Process p = new ProcessBuilder(List.of("openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in",
                sig.toString(), "-content", content.toString(), "-CAfile", ca.toString(), "-purpose", "any",
                "-out", dir.resolve("verified.bin").toString())).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("openssl did not finish");
        }
        return p.exitValue() == 0 && out.contains("Verification successful");
    }
}
