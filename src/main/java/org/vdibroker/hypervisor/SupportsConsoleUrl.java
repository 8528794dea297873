package org.vdibroker.hypervisor;

import java.util.concurrent.CompletionStage;

/**
 * A driver whose consoles open through a link carrying a ticket of the hypervisor's own (VMware's {@code vmrc://}
 * with a clone ticket). The link is a credential: never logged.
 */
public interface SupportsConsoleUrl {

    /** Protocols this driver offers links for, e.g. {@code vmrc}. */
    java.util.Set<String> consoleUrlProtocols();

    CompletionStage<String> consoleUrl(String vmRef, String protocol);
}
