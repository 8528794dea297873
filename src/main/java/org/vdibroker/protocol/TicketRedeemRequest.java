package org.vdibroker.protocol;

import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.Size;

/** The body of a redeem call: the ticket exactly as the client presented it to the gateway. */
public record TicketRedeemRequest(@NotBlank @Size(max = 128) String ticket) {

    @Override
    public String toString() {
        return "TicketRedeemRequest[ticket=***]";
    }
}
