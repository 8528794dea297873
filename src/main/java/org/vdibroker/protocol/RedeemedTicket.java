package org.vdibroker.protocol;

/** What a gateway learns from a redeemed ticket: whose session, which desktop, which protocol. */
public record RedeemedTicket(String sessionId, String desktopId, String user, String protocol) {
}
