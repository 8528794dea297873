package org.vdibroker.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What one benchmark run measured, written as {@code target/bench/<name>.json} (every figure, for machines) and
 * {@code target/bench/<name>.md} (tables and ratios, for people). Ratios are only ever taken between figures of
 * this one run.
 */
public final class BenchReport {

    private final String name;
    private final String title;
    private final Map<String, Object> json = new LinkedHashMap<>();
    private final List<Map<String, Object>> runs = new ArrayList<>();
    private final Map<String, Object> ratios = new LinkedHashMap<>();
    private final List<String> notes = new ArrayList<>();
    private final StringBuilder markdown = new StringBuilder();

    public BenchReport(String name, String title) {
        this.name = name;
        this.title = title;
        json.put("benchmark", name);
        json.put("startedAt", Instant.now().toString());
        json.put("machine", Map.of("cores", Runtime.getRuntime().availableProcessors(),
                "loadAverageAtStart", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage(),
                "java", System.getProperty("java.version")));
    }

    public void setting(String key, Object value) {
        @SuppressWarnings("unchecked")
        Map<String, Object> settings = (Map<String, Object>) json.computeIfAbsent("settings",
                k -> new LinkedHashMap<String, Object>());
        settings.put(key, value);
    }

    /** A measured run, under {@code group} (e.g. "broker", "raw-infinispan", "skip-locked"). */
    public void add(String group, LoadGenerator.Result result) {
        Map<String, Object> run = new LinkedHashMap<>();
        run.put("group", group);
        run.put("name", result.name());
        run.put("mode", result.mode());
        run.put("clients", result.concurrency());
        run.put("targetRatePerSecond", result.targetRate());
        run.put("requests", result.requests());
        run.put("ok", result.ok());
        run.put("failed", result.failed());
        run.put("statuses", result.statuses());
        run.put("seconds", round(result.seconds()));
        run.put("throughputPerSecond", round(result.throughput()));
        run.put("p50Ms", round(result.millis(50)));
        run.put("p99Ms", round(result.millis(99)));
        run.put("p999Ms", round(result.millis(99.9)));
        run.put("maxMs", round(result.latencyMicros().getMaxValue() / 1000.0));
        run.put("latencyCdf", cdf(result.latencyMicros()));
        runs.add(run);
        System.out.printf(Locale.ROOT, "[bench] %-14s %-28s %s c=%-3d rate=%-7.0f ok=%-6d failed=%-4d %8.1f/s"
                        + " p50 %7.2f ms p99 %7.2f ms p99.9 %7.2f ms %s%n", group, result.name(), result.mode(),
                result.concurrency(), result.targetRate(), result.ok(), result.failed(), result.throughput(),
                result.millis(50), result.millis(99), result.millis(99.9), result.statuses());
    }

    /** Percentiles at which a run's latency distribution is kept (for its chart): small, and dense in the tail. */
    static final double[] CDF_PERCENTILES = {0, 1, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 97.5, 99, 99.5, 99.9,
        99.99, 100};

    /** The latency distribution as percentile to milliseconds, from the histogram (no raw samples in the JSON). */
    static Map<String, Object> cdf(org.HdrHistogram.Histogram micros) {
        Map<String, Object> cdf = new LinkedHashMap<>();
        if (micros.getTotalCount() == 0) {
            return cdf;
        }
        List<Double> percentiles = new ArrayList<>();
        List<Double> millis = new ArrayList<>();
        for (double p : CDF_PERCENTILES) {
            percentiles.add(p);
            millis.add(round(micros.getValueAtPercentile(p) / 1000.0));
        }
        cdf.put("percentile", percentiles);
        cdf.put("ms", millis);
        return cdf;
    }

    /** Throughput of the i-th run of group "broker" (the levels in order). */
    public double brokerThroughput(int i) {
        return (double) runs.stream().filter(r -> "broker".equals(r.get("group"))).toList().get(i)
                .get("throughputPerSecond");
    }

    public long brokerRuns() {
        return runs.stream().filter(r -> "broker".equals(r.get("group"))).count();
    }

    public void ratio(String key, double value) {
        ratios.put(key, round(value));
        System.out.printf(Locale.ROOT, "[bench] ratio %s = %.3f%n", key, value);
    }

    public void put(String key, Object value) {
        json.put(key, value);
    }

    public void note(String note) {
        notes.add(note);
        System.out.println("[bench] note: " + note);
    }

    /** Markdown written after the generated tables (the caller's own tables). */
    public void markdown(String text) {
        markdown.append(text).append('\n');
    }

    /** A benchmark's measured part; returns the invariant violations it found. */
    @FunctionalInterface
    public interface Body {
        long run() throws Exception;
    }

    /**
     * Runs {@code body}, notes invariant violations or a failed step, stops Keycloak, writes the report to {@code dir}
     * and exits the JVM: 0, 1 (invariant violations) or 2 (a step failed).
     */
    public void runAndExit(Path dir, Body body) {
        int exit = 0;
        try {
            long violations = body.run();
            if (violations > 0) {
                note("FAILED: " + violations + " invariant violations");
                exit = 1;
            }
        } catch (Exception | AssertionError e) {
            note("FAILED: " + e);
            e.printStackTrace();
            exit = 2;
        } finally {
            org.vdibroker.testsupport.KeycloakServer.stop();
            Path md = write(dir);
            System.out.println("[bench] wrote " + md + " and its .json");
        }
        System.exit(exit);
    }

    /** Writes both files; returns the markdown path. */
    public Path write(Path dir) {
        json.put("finishedAt", Instant.now().toString());
        json.put("loadAverageAtEnd", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        json.put("runs", runs);
        json.put("ratios", ratios);
        json.put("notes", notes);
        try {
            Files.createDirectories(dir);
            List<BenchCharts.Chart> charts = charts(dir);
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
                    .writeValue(dir.resolve(name + ".json").toFile(), json);
            StringBuilder md = new StringBuilder("# ").append(title).append("\n\n");
            md.append("Run ").append(json.get("startedAt")).append(" to ").append(json.get("finishedAt"))
                    .append("; machine ").append(json.get("machine")).append(", load average at end ")
                    .append(String.format(Locale.ROOT, "%.2f", (double) json.get("loadAverageAtEnd")))
                    .append(".\n\nSettings: ").append(json.get("settings")).append("\n\n");
            md.append("| what | run | clients / rate | ok | failed | per s | p50 ms | p99 ms | p99.9 ms |\n");
            md.append("|---|---|---|---|---|---|---|---|---|\n");
            for (Map<String, Object> run : runs) {
                md.append(String.format(Locale.ROOT, "| %s | %s | %s | %d | %d | %.1f | %.2f | %.2f | %.2f |%n",
                        run.get("group"), run.get("name"),
                        "open".equals(run.get("mode")) ? String.format(Locale.ROOT, "%.0f/s",
                                (double) run.get("targetRatePerSecond")) : run.get("clients"),
                        (long) run.get("ok"), (long) run.get("failed"), (double) run.get("throughputPerSecond"),
                        (double) run.get("p50Ms"), (double) run.get("p99Ms"), (double) run.get("p999Ms")));
            }
            if (!ratios.isEmpty()) {
                md.append("\n| ratio (same run) | value |\n|---|---|\n");
                ratios.forEach((k, v) -> md.append("| ").append(k).append(" | ").append(v).append(" |\n"));
            }
            md.append('\n').append(markdown);
            for (BenchCharts.Chart chart : charts) {
                md.append("\n![").append(chart.title()).append("](").append(chart.file().getFileName())
                        .append(")\n");
            }
            if (!notes.isEmpty()) {
                md.append("\nNotes:\n\n");
                notes.forEach(n -> md.append("- ").append(n).append('\n'));
            }
            Path file = dir.resolve(name + ".md");
            Files.writeString(file, md);
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Draws the report's charts; a chart that fails is a note, never the loss of the run's figures. */
    private List<BenchCharts.Chart> charts(Path dir) {
        List<BenchCharts.Chart> charts = List.of();
        try {
            charts = BenchCharts.render(new ObjectMapper().valueToTree(json), dir);
        } catch (IOException | RuntimeException e) {
            note("charts not drawn: " + e);
        }
        json.put("charts", charts.stream().map(c -> c.file().getFileName().toString()).toList());
        return charts;
    }

    private static double round(double value) {
        return Math.round(value * 1000) / 1000.0;
    }
}
