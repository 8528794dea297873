package org.vdibroker.hypervisor.hyperv;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.ConnectException;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

/** Which failures of a WinRM call are silence (the host is unreachable) and which are answers. */
class HyperVErrorsTest {

    @Test
    void aConnectionClosedBeforeTheRequestWasSentIsSilence() {
        // what the async HTTP client throws when it reuses a kept-alive connection the host has closed (CI saw it
        // right after the fake host stopped); it used to count as an answer, keeping a stopped host "answering"
        IllegalStateException closed = new IllegalStateException("Buffer already closed for writing");
        assertThat(HyperVErrors.silence(new CompletionException(new RuntimeException("send failed", closed))))
                .isTrue();
        assertThat(HyperVErrors.transport("hv1", "report usage", closed).unreachable()).isTrue();
        assertThat(HyperVErrors.transport("hv1", "report usage", new ConnectException("Connection refused"))
                .unreachable()).isTrue();
    }

    @Test
    void otherFailuresAreAnswers() {
        assertThat(HyperVErrors.silence(new IllegalStateException("shell already deleted"))).isFalse();
        assertThat(HyperVErrors.transport("hv1", "report usage",
                new RuntimeException("The WS-Management service cannot process the request")).unreachable())
                .isFalse();
    }
}
