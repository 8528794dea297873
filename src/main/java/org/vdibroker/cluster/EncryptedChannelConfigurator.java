package org.vdibroker.cluster;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.crypto.SecretKey;
import javax.sql.DataSource;
import org.infinispan.remoting.transport.jgroups.JGroupsChannelConfigurator;
import org.jgroups.JChannel;
import org.jgroups.conf.ProtocolConfiguration;
import org.jgroups.protocols.SYM_ENCRYPT;
import org.jgroups.stack.Protocol;
import org.jgroups.util.SocketFactory;

/**
 * A JGroups stack from the Infinispan XML with SYM_ENCRYPT added right below NAKACK2, keyed with the cluster key from
 * the broker's configuration. The key is handed to the protocol in memory, before it initialises, so it is never
 * written to a keystore file. Every message with a payload between nodes is then encrypted with AES/CBC; a node
 * without the key cannot read the view or its join, so it cannot join. Not encrypted: discovery, failure detection
 * and merge messages (below SYM_ENCRYPT) and messages without a payload such as a JOIN request, so a keyless node
 * that is up first can take the others' joins (security.md, known gaps).
 */
public final class EncryptedChannelConfigurator implements JGroupsChannelConfigurator {

    private static final String BELOW = "pbcast.NAKACK2";

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
        List<ProtocolConfiguration> protocols = new ArrayList<>(stack.getProtocolStack());
        int at = -1;
        for (int i = 0; i < protocols.size(); i++) {
            String name = protocols.get(i).getProtocolName();
            if (name.equals(BELOW) || name.endsWith("." + BELOW) || name.equals("NAKACK2")) {
                at = i;
            }
        }
        if (at < 0) {
            throw new IllegalStateException("JGroups stack " + stack.getName() + " has no " + BELOW
                    + " to put SYM_ENCRYPT under");
        }
        protocols.add(at, new ProtocolConfiguration("SYM_ENCRYPT",
                Map.of("sym_algorithm", "AES/CBC/PKCS5Padding", "sym_iv_length", "16")));
        return protocols;
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
