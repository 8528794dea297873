package org.vdibroker.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLongArray;
import javax.imageio.ImageIO;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The benchmarks' PNG charts, drawn through the same path a benchmark takes ({@link BenchReport#write}, fed by the
 * benchmarks' own helpers where they have one) from small built-in data: each chart is a PNG of the expected size
 * that decodes, is not blank, and shows its curves in their colours; the markdown links the charts; a report without
 * a chart's data gets no chart and still its figures. No benchmark runs here.
 */
class BenchChartsTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void warmAssignmentDrawsThroughputLatencyAndTheOpenLoopDistribution() throws Exception {
        BenchReport report = new BenchReport("warm-assignment", "Benchmark 1: warm assignment");
        Random random = new Random(1);
        for (int clients : new int[] {16, 64, 256}) {
            report.add("broker", result("warm assignment", clients, 0, 40 + clients / 8.0, 30.0 * clients, random));
            report.add("raw-infinispan", result("conditional replace", clients, 0, 600, 2.0 * clients, random));
            report.add("skip-locked", result("skip locked claim", clients, 0, 800 - clients, 1.5 * clients, random));
        }
        report.add("broker-open", result("warm assignment at 50 % of saturation", 0, 22, 22, 140, random));
        report.add("broker-open", result("warm assignment at 80 % of saturation", 0, 36, 36, 170, random));
        report.write(dir);

        for (String chart : List.of("throughput", "latency", "open-loop-cdf")) {
            BufferedImage image = drawn("warm-assignment-" + chart + ".png");
            assertThat(pixelsOf(image, BenchCharts.BROKER)).as("broker curve in " + chart).isGreaterThan(300);
        }
        BufferedImage throughput = drawn("warm-assignment-throughput.png");
        assertThat(pixelsOf(throughput, BenchCharts.RAW)).as("raw ceiling curve").isGreaterThan(300);
        assertThat(pixelsOf(throughput, BenchCharts.SKIP_LOCKED)).as("SKIP LOCKED curve").isGreaterThan(300);

        String md = Files.readString(dir.resolve("warm-assignment.md"));
        assertThat(md).contains("(warm-assignment-throughput.png)", "(warm-assignment-latency.png)",
                "(warm-assignment-open-loop-cdf.png)");
        JsonNode json = JSON.readTree(dir.resolve("warm-assignment.json").toFile());
        assertThat(json.path("charts")).hasSize(3);
        JsonNode cdf = json.path("runs").get(0).path("latencyCdf");
        assertThat(cdf.path("percentile")).hasSize(BenchReport.CDF_PERCENTILES.length);
        assertThat(cdf.path("ms").get(0).asDouble()).isLessThanOrEqualTo(cdf.path("ms").get(18).asDouble());
    }

    @Test
    void stormDrawsTheWarmDistributionTheColdWaitsAgainstTheirBoundAndTheEtas() throws Exception {
        BenchReport report = new BenchReport("storm", "Benchmark 2: logon storm");
        Random random = new Random(2);
        report.add("warm-storm", result("warm storm", 0, 10, 10, 40, random));
        // 2,000 requests at 100/s, answered 20-69.5 ms after they fell due and one of each second's after 2 s; all of
        // the 5th second's 3 s later still
        ArrivalSeconds bySecond = new ArrivalSeconds(20);
        for (long i = 0; i < 2000; i++) {
            long lateMicros = i % 100 == 99 ? 2_000_000L : 20_000L + i % 100 * 500L;
            bySecond.record(i * 10_000_000L, lateMicros + (i / 100 == 5 ? 3_000_000L : 0));
        }
        report.put("warmByArrivalSecond", bySecond.summary());
        String windows = bySecond.markdown("Warm storm", 10);
        // 200 users at 10/s, 20 spares, 2 hosts x 10 operations, 20 s per desktop
        StormBench.Settings settings = new StormBench.Settings(200, 20, 2, 10, 10_000, 10_000, 0.5, 10, 0, dir);
        Map<Long, Double> servedAt = new HashMap<>();
        Map<Long, Long> etaOf = new HashMap<>();
        for (long i = 0; i < 200; i++) {
            boolean spare = i < 20;
            double waited = spare ? 0.05 : 20 + (i - 20) / 20 * 20 + random.nextDouble() * 10 - i / 10.0 * 0.5;
            servedAt.put(i, Math.max(0.05, waited));
            if (!spare) {
                etaOf.put(i, Math.round(waited * (0.6 + random.nextDouble() * 0.8)));
            }
        }
        StormBench.coldFigures(settings, 10, 20, servedAt, etaOf, 180, report);
        report.write(dir);

        assertThat(pixelsOf(drawn("storm-warm-cdf.png"), BenchCharts.BROKER)).isGreaterThan(300);
        assertThat(pixelsOf(drawn("storm-warm-by-second.png"), BenchCharts.SKIP_LOCKED)).as("p99 by second")
                .isGreaterThan(300);
        assertThat(windows).contains("10-20 s 69 ms;");
        JsonNode seconds = JSON.readTree(dir.resolve("storm.json").toFile()).path("warmByArrivalSecond");
        assertThat(seconds).hasSize(20);
        assertThat(seconds.get(5).path("second").asInt()).isEqualTo(5);
        assertThat(seconds.get(5).path("requests").asLong()).isEqualTo(100);
        assertThat(seconds.get(5).path("p99Ms").asDouble()).isEqualTo(3069.5, within(5.0));
        assertThat(seconds.get(6).path("p50Ms").asDouble()).isEqualTo(44.5, within(1.0));
        assertThat(seconds.get(6).path("p99Ms").asDouble()).isEqualTo(69.5, within(1.0));
        assertThat(seconds.get(6).path("maxMs").asDouble()).isEqualTo(2000, within(5.0));
        BufferedImage cold = drawn("storm-cold-time-to-desktop.png");
        assertThat(pixelsOf(cold, BenchCharts.BROKER)).as("median wait").isGreaterThan(300);
        assertThat(pixelsOf(cold, BenchCharts.WORST)).as("slowest wait").isGreaterThan(300);
        assertThat(pixelsOf(cold, BenchCharts.BOUND)).as("lower bound").isGreaterThan(300);
        assertThat(pixelsOf(drawn("storm-cold-eta.png"), BenchCharts.BROKER)).as("ETA points").isGreaterThan(300);
        assertThat(pixelsOf(drawn("storm-cold-over-bound-cdf.png"), BenchCharts.BROKER)).isGreaterThan(300);

        JsonNode coldJson = JSON.readTree(dir.resolve("storm.json").toFile()).path("cold");
        assertThat(coldJson.path("byArrivalSecond")).hasSize(20);
        assertThat(coldJson.path("etaSample").size()).isBetween(150, 300); // a sample, not every user
        JsonNode overBound = coldJson.path("overLowerBoundCdf").path("value");
        assertThat(overBound.get(12).asDouble()).as("p95, as in the table") // CDF_PERCENTILES[12] is 95
                .isEqualTo(coldJson.path("timeToDesktopOverLowerBoundP95").asDouble(), within(0.01));
        assertThat(overBound.get(18).asDouble()).isGreaterThan(overBound.get(0).asDouble());
    }

    @Test
    void scaleOfStateDrawsQueuePositionCostLogLog() throws Exception {
        BenchReport report = new BenchReport("scale-of-state", "Benchmark 4: scale of state");
        report.put("queueViews", List.of(view(1000, 392, 0.25), view(10_000, 8582, 0.17),
                view(100_000, 143_709, 0.07)));
        report.write(dir);

        BufferedImage image = drawn("scale-of-state-queue-position.png");
        assertThat(pixelsOf(image, BenchCharts.SKIP_LOCKED)).as("walk").isGreaterThan(300);
        assertThat(pixelsOf(image, BenchCharts.BROKER)).as("index").isGreaterThan(300);
    }

    @Test
    void faultsDrawsServedPerSecondWithTheFaultWindows() throws Exception {
        BenchReport report = new BenchReport("faults", "Benchmark 5: faults under load");
        int seconds = 80;
        report.setting("ratePerSecond", 5.0);
        report.setting("seconds", seconds);
        List<FaultsBench.Fault> faults = List.of(new FaultsBench.Fault("kill -9 of node 3", 10, 0, 30),
                new FaultsBench.Fault("SIGSTOP of node 2 for 10 s", 30, 10, 50),
                new FaultsBench.Fault("PostgreSQL stopped for 30 s", 50, 30, 80));
        AtomicLongArray served = new AtomicLongArray(seconds + 120);
        AtomicLongArray servedByDue = new AtomicLongArray(seconds + 1);
        for (int s = 0; s < seconds; s++) {
            served.set(s, s >= 30 && s < 40 ? 0 : s == 40 ? 55 : 5);
            servedByDue.set(s, 5);
        }
        FaultsBench.figures(report, faults, served, servedByDue, 5, seconds);
        report.write(dir);

        BufferedImage image = drawn("faults-throughput.png");
        assertThat(pixelsOf(image, BenchCharts.BROKER)).as("bars").isGreaterThan(2000);
        JsonNode json = JSON.readTree(dir.resolve("faults.json").toFile());
        assertThat(json.path("faults").get(1).path("lastsSeconds").asInt()).isEqualTo(10);
        assertThat(json.path("faults").get(1).path("secondsUntilRecovered").asInt()).isEqualTo(10);
    }

    @Test
    void aReportWithoutAChartsDataStillGetsItsFiguresAndNoChart() throws Exception {
        new BenchReport("faults", "Benchmark 5: faults under load").write(dir);
        new BenchReport("warm-assignment", "Benchmark 1: warm assignment").write(dir);

        try (var files = Files.list(dir)) {
            assertThat(files.map(f -> f.getFileName().toString())).containsExactlyInAnyOrder("faults.json",
                    "faults.md", "warm-assignment.json", "warm-assignment.md");
        }
        JsonNode json = JSON.readTree(dir.resolve("faults.json").toFile());
        assertThat(json.path("charts")).isEmpty();
        assertThat(json.path("notes")).isEmpty(); // nothing failed
    }

    @Test
    void chartsAreDrawnAgainFromAReportsJson() throws Exception {
        BenchReport report = new BenchReport("scale-of-state", "Benchmark 4: scale of state");
        report.put("queueViews", List.of(view(1000, 400, 0.2), view(10_000, 8000, 0.2)));
        report.write(dir);
        Path png = dir.resolve("scale-of-state-queue-position.png");
        Files.delete(png);

        BenchCharts.main(new String[] {dir.toString()});

        drawn(png.getFileName().toString());
    }

    /** The PNG exists, decodes, has the charts' size and is not blank. */
    private BufferedImage drawn(String file) throws Exception {
        Path path = dir.resolve(file);
        assertThat(path).exists();
        BufferedImage image = ImageIO.read(path.toFile());
        assertThat(image).as(file + " decodes").isNotNull();
        assertThat(image.getWidth()).isEqualTo(BenchCharts.WIDTH);
        assertThat(image.getHeight()).isEqualTo(BenchCharts.HEIGHT);
        Set<Integer> colours = new HashSet<>();
        int white = 0;
        for (int y = 0; y < image.getHeight(); y += 2) {
            for (int x = 0; x < image.getWidth(); x += 2) {
                int rgb = image.getRGB(x, y) & 0xffffff;
                colours.add(rgb);
                white += rgb == 0xffffff ? 1 : 0;
            }
        }
        assertThat(colours.size()).as(file + " colours").isGreaterThan(20);
        assertThat(white).as(file + " not all white").isLessThan(image.getWidth() * image.getHeight() / 4 * 9 / 10);
        return image;
    }

    /** Pixels close to a series colour (anti-aliasing blends the edges of lines). */
    private static int pixelsOf(BufferedImage image, Color colour) {
        int count = 0;
        for (int rgb : image.getRGB(0, 0, image.getWidth(), image.getHeight(), null, 0, image.getWidth())) {
            int distance = Math.abs((rgb >> 16 & 0xff) - colour.getRed())
                    + Math.abs((rgb >> 8 & 0xff) - colour.getGreen()) + Math.abs((rgb & 0xff) - colour.getBlue());
            count += distance <= 24 ? 1 : 0;
        }
        return count;
    }

    /** A run with {@code count} latencies around {@code medianMs} (log-normal), as the load generator returns. */
    private static LoadGenerator.Result result(String name, int clients, double rate, double throughput,
            double medianMs, Random random) {
        Histogram micros = new Histogram(3);
        int count = 2000;
        for (int i = 0; i < count; i++) {
            micros.recordValue((long) (medianMs * 1000 * Math.exp(random.nextGaussian() * 0.6)));
        }
        String mode = clients > 0 ? "closed" : "open";
        return new LoadGenerator.Result(name, mode, clients, rate, count, count, 0, Map.of(200, (long) count),
                count / throughput, micros);
    }

    private static Map<String, Object> view(int queued, double walkMicros, double indexMicros) {
        return Map.of("queued", queued, "walkMicrosPerView", walkMicros, "indexMicrosPerView", indexMicros,
                "agree", true);
    }
}
