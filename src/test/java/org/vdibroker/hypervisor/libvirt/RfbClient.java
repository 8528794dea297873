package org.vdibroker.hypervisor.libvirt;

import java.awt.image.BufferedImage;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import javax.crypto.Cipher;
import javax.crypto.spec.SecretKeySpec;

/**
 * A minimal VNC (RFB 3.8) client for the tests: handshake, VNC authentication with a password, and raw framebuffer
 * updates into an image. Written for these tests, like a user's viewer would do it.
 */
final class RfbClient implements AutoCloseable {

    private final Socket socket;
    private final DataInputStream in;
    private final DataOutputStream out;
    private int width;
    private int height;
    private BufferedImage frame;

    private RfbClient(Socket socket) throws IOException {
        this.socket = socket;
        this.in = new DataInputStream(socket.getInputStream());
        this.out = new DataOutputStream(socket.getOutputStream());
    }

    /** Thrown when the server refuses the password. */
    static final class AuthenticationFailed extends IOException {
        AuthenticationFailed(String reason) {
            super(reason);
        }
    }

    /** Connects and authenticates; throws {@link AuthenticationFailed} when the server refuses the password. */
    static RfbClient connect(String host, int port, String password) throws IOException {
        Socket socket = new Socket();
        socket.connect(new InetSocketAddress(host, port), 3000);
        socket.setSoTimeout(5000);
        RfbClient client = new RfbClient(socket);
        try {
            client.handshake(password);
            return client;
        } catch (IOException | RuntimeException e) {
            client.close();
            throw e;
        }
    }

    private void handshake(String password) throws IOException {
        byte[] version = in.readNBytes(12);
        String server = new String(version, StandardCharsets.US_ASCII);
        if (!server.startsWith("RFB ")) {
            throw new IOException("not an RFB server: " + server);
        }
        out.write("RFB 003.008\n".getBytes(StandardCharsets.US_ASCII));
        int count = in.readUnsignedByte();
        if (count == 0) {
            throw new IOException("server refused the connection: " + reason());
        }
        boolean vncAuth = false;
        for (byte type : in.readNBytes(count)) {
            vncAuth |= type == 2;
        }
        if (!vncAuth) {
            throw new IOException("server does not offer VNC authentication");
        }
        out.writeByte(2);
        byte[] challenge = in.readNBytes(16);
        out.write(des(password, challenge));
        if (in.readInt() != 0) {
            throw new AuthenticationFailed(reason());
        }
        out.writeByte(1); // ClientInit: share the desktop
        width = in.readUnsignedShort();
        height = in.readUnsignedShort();
        in.readNBytes(16); // the server's pixel format; we ask for our own below
        in.readNBytes(in.readInt()); // desktop name
        frame = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        // 32 bits per pixel, little endian, true colour, 8 bits each at shifts 16, 8, 0
        out.write(new byte[] { 0, 0, 0, 0, 32, 24, 0, 1, 0, (byte) 255, 0, (byte) 255, 0, (byte) 255, 16, 8, 0, 0,
                0, 0 });
        out.write(new byte[] { 2, 0, 0, 1, 0, 0, 0, 0 }); // SetEncodings: raw only
        out.flush();
    }

    /** Asks for the whole screen and reads updates until it has it; returns the picture so far. */
    BufferedImage readFrame(boolean incremental) throws IOException {
        out.write(new byte[] { 3, (byte) (incremental ? 1 : 0), 0, 0, 0, 0, (byte) (width >> 8), (byte) width,
                (byte) (height >> 8), (byte) height });
        out.flush();
        while (true) {
            int type = in.readUnsignedByte();
            switch (type) {
                case 0 -> {
                    in.readUnsignedByte();
                    int rects = in.readUnsignedShort();
                    for (int r = 0; r < rects; r++) {
                        int x = in.readUnsignedShort();
                        int y = in.readUnsignedShort();
                        int w = in.readUnsignedShort();
                        int h = in.readUnsignedShort();
                        int encoding = in.readInt();
                        if (encoding != 0) {
                            throw new IOException("unexpected encoding " + encoding);
                        }
                        byte[] pixels = in.readNBytes(w * h * 4);
                        for (int i = 0; i < w * h; i++) {
                            int b = pixels[i * 4] & 0xff;
                            int g = pixels[i * 4 + 1] & 0xff;
                            int red = pixels[i * 4 + 2] & 0xff;
                            frame.setRGB(x + i % w, y + i / w, (red << 16) | (g << 8) | b);
                        }
                    }
                    return frame;
                }
                case 1 -> {
                    in.readUnsignedByte();
                    in.readUnsignedShort();
                    in.readNBytes(in.readUnsignedShort() * 6);
                }
                case 2 -> {
                    // bell
                }
                case 3 -> {
                    in.readNBytes(3);
                    in.readNBytes(in.readInt());
                }
                default -> throw new IOException("unexpected server message " + type);
            }
        }
    }

    int width() {
        return width;
    }

    int height() {
        return height;
    }

    private String reason() throws IOException {
        try {
            return new String(in.readNBytes(in.readInt()), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(no reason given)";
        }
    }

    /** VNC authentication: the challenge encrypted with DES, the key being the password's bytes bit-reversed. */
    static byte[] des(String password, byte[] challenge) {
        byte[] key = new byte[8];
        byte[] raw = password.getBytes(StandardCharsets.ISO_8859_1);
        for (int i = 0; i < 8 && i < raw.length; i++) {
            key[i] = (byte) (Integer.reverse(raw[i] & 0xff) >>> 24);
        }
        try {
            Cipher des = Cipher.getInstance("DES/ECB/NoPadding");
            des.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "DES"));
            return des.doFinal(challenge);
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException("DES is not available", e);
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
