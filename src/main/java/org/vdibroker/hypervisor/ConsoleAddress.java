package org.vdibroker.hypervisor;

/** Where a client connects: host and port for one protocol (rdp, spice, vnc). */
public record ConsoleAddress(String protocol, String host, int port) {
}
