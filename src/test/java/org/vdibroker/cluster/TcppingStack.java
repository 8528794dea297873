package org.vdibroker.cluster;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.infinispan.remoting.transport.jgroups.FileJGroupsChannelConfigurator;
import org.infinispan.remoting.transport.jgroups.JGroupsChannelConfigurator;

/**
 * The broker's jgroups-tcpping.xml with its {@code ${a,b:default}} settings resolved from given properties instead of
 * the JVM's, so that several members with their own ports can run in one JVM.
 */
public final class TcppingStack {

    private static final String FILE = "jgroups-tcpping.xml";
    private static final Pattern PROPERTY = Pattern.compile("\\$\\{([^,}:]+)(?:,[^:}]*)?(?::([^}]*))?}");

    private TcppingStack() {
    }

    public static JGroupsChannelConfigurator configurator(Properties properties) {
        try {
            return new FileJGroupsChannelConfigurator("tcpping", FILE, substituted(properties), properties);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static InputStream substituted(Properties properties) throws IOException {
        String text;
        try (InputStream xml = TcppingStack.class.getClassLoader().getResourceAsStream(FILE)) {
            if (xml == null) {
                throw new IllegalStateException(FILE + " is not on the class path");
            }
            text = new String(xml.readAllBytes(), StandardCharsets.UTF_8);
        }
        Matcher matcher = PROPERTY.matcher(text);
        StringBuilder out = new StringBuilder();
        while (matcher.find()) {
            String value = properties.getProperty(matcher.group(1), matcher.group(2) == null ? "" : matcher.group(2));
            matcher.appendReplacement(out, Matcher.quoteReplacement(value));
        }
        matcher.appendTail(out);
        return new ByteArrayInputStream(out.toString().getBytes(StandardCharsets.UTF_8));
    }
}
