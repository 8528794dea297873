package org.vdibroker.protocol;

/**
 * What a gateway learns from a redeemed ticket: whose session ({@code subject}, the token's {@code sub}, identifies
 * the user; {@code user} is their name to show), which desktop, which protocol.
 */
public record RedeemedTicket(String sessionId, String desktopId, String subject, String user, String protocol) {
}
