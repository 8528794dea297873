package org.vdibroker.hypervisor;

/**
 * Where a client connects: host and port for one protocol (rdp, spice, vnc). {@code preconnectionBlob}, when not
 * null, is what an RDP client sends before it connects (Hyper-V VMConnect: the VM id, so the host's port 2179 knows
 * which VM's console is meant).
 */
public record ConsoleAddress(String protocol, String host, int port, String preconnectionBlob) {

    public ConsoleAddress(String protocol, String host, int port) {
        this(protocol, host, port, null);
    }
}
