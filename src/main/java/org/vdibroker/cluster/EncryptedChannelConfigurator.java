package org.vdibroker.cluster;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.crypto.SecretKey;
import javax.sql.DataSource;
import org.infinispan.remoting.transport.jgroups.JGroupsChannelConfigurator;
import org.jgroups.JChannel;
import org.jgroups.conf.ProtocolConfiguration;
import org.jgroups.protocols.SYM_ENCRYPT;
import org.jgroups.stack.Protocol;
import org.jgroups.util.SocketFactory;

/**
 * A JGroups stack from the Infinispan XML with SYM_ENCRYPT added right above the transport, keyed with the cluster key
 * from the broker's configuration. The key is handed to the protocol in memory, before it initialises, so it is never
 * written to a keystore file. Every message between nodes then passes SYM_ENCRYPT: payloads are encrypted with
 * AES/CBC, and a message without a payload (a JOIN request, a heartbeat) still carries the key's version, so a node
 * drops whatever comes without it or with another key's. Being under discovery, MERGE3 and failure detection, it
 * keeps a node without the key out of discovery: it is never taken for a coordinator, which it was when SYM_ENCRYPT
 * sat under NAKACK2 (security.md, "Cluster traffic"). Not covered: FD_SOCK2's own sockets, which carry no data.
 */
public final class EncryptedChannelConfigurator implements JGroupsChannelConfigurator {

    /** Protocols that stay under SYM_ENCRYPT: the transport and RED, which drops messages as the queue fills. */
    private static final Set<String> UNDER = Set.of("RED");

    private final JGroupsChannelConfigurator stack;
    private final SecretKey key;
    private SocketFactory socketFactory;

    public EncryptedChannelConfigurator(JGroupsChannelConfigurator stack, SecretKey key) {
        this.stack = stack;
        this.key = key;
    }

    @Override
    public String getName() {
        return stack.getName() + "+SYM_ENCRYPT";
    }

    @Override
    public List<ProtocolConfiguration> getProtocolStack() {
        // JGroups lists a stack bottom up: the transport first
        List<ProtocolConfiguration> protocols = new ArrayList<>(stack.getProtocolStack());
        if (protocols.isEmpty()) {
            throw new IllegalStateException("JGroups stack " + stack.getName() + " has no protocols");
        }
        int at = 1;
        while (at < protocols.size() && UNDER.contains(simpleName(protocols.get(at).getProtocolName()))) {
            at++;
        }
        protocols.add(at, new ProtocolConfiguration("SYM_ENCRYPT",
                Map.of("sym_algorithm", "AES/CBC/PKCS5Padding", "sym_iv_length", "16")));
        return protocols;
    }

    private static String simpleName(String protocol) {
        return protocol.substring(protocol.lastIndexOf('.') + 1);
    }

    @Override
    public String getProtocolStackString() {
        return getProtocolStack().toString();
    }

    /** Called for each protocol as the stack is built, before any is initialised. */
    @Override
    public void afterCreation(Protocol protocol) throws Exception {
        stack.afterCreation(protocol);
        if (protocol instanceof SYM_ENCRYPT encrypt) {
            encrypt.setSecretKey(key);
        }
    }

    @Override
    public JChannel createChannel(String name) throws Exception {
        JChannel channel = new JChannel(this);
        if (socketFactory != null) { // as Infinispan's own configurators do: the top protocol passes it down
            channel.getProtocolStack().getTopProtocol().setSocketFactory(socketFactory);
        }
        return channel;
    }

    @Override
    public void setSocketFactory(SocketFactory socketFactory) {
        this.socketFactory = socketFactory;
    }

    @Override
    public void setDataSource(DataSource dataSource) {
        stack.setDataSource(dataSource); // JDBC_PING only; the broker's stacks do not use it
    }
}
