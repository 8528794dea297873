package org.vdibroker.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Paint;
import java.awt.Stroke;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.DecimalFormat;
import java.text.DecimalFormatSymbols;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.annotations.XYTextAnnotation;
import org.jfree.chart.axis.CategoryAxis;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.NumberTickUnit;
import org.jfree.chart.axis.ValueAxis;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.IntervalMarker;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.category.LineAndShapeRenderer;
import org.jfree.chart.renderer.xy.StandardXYBarPainter;
import org.jfree.chart.renderer.xy.XYBarRenderer;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.TextTitle;
import org.jfree.chart.ui.Layer;
import org.jfree.chart.ui.RectangleAnchor;
import org.jfree.chart.ui.RectangleInsets;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.category.DefaultCategoryDataset;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * PNG charts of a benchmark's report, drawn from its JSON ({@link BenchReport} calls {@link #render} when it writes
 * the report; {@link #main} draws them again from {@code target/bench/*.json}). One chart where a curve says more
 * than the tables: each file is {@code <benchmark>-<chart>.png}, titled with what it shows and the run's start, its
 * axes with units. A chart whose data the report lacks (a step that failed, a report from before a figure was kept)
 * is left out. Drawn headless with JFreeChart.
 */
public final class BenchCharts {

    static {
        System.setProperty("java.awt.headless", "true"); // before anything touches AWT: no display on servers
    }

    public static final int WIDTH = 1000;
    public static final int HEIGHT = 600;

    /** Series colours, fixed so that the same design has the same colour in every chart (and tests can find it). */
    public static final Color BROKER = new Color(31, 119, 180);
    public static final Color RAW = new Color(44, 160, 44);
    public static final Color SKIP_LOCKED = new Color(255, 127, 14);
    public static final Color BOUND = new Color(127, 127, 127);
    public static final Color WORST = new Color(214, 39, 40);
    public static final Color FAULT = new Color(214, 39, 40, 50);

    private static final Color MINOR_GRID = new Color(232, 232, 232);
    private static final Stroke SOLID = new BasicStroke(2.5f);
    private static final Stroke DASHED = new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10,
            new float[] {8, 5}, 0);
    private static final Stroke DOTTED = new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10,
            new float[] {2, 4}, 0);
    private static final DateTimeFormatter WHEN = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'", Locale.ROOT)
            .withZone(ZoneOffset.UTC);

    /** A chart written: its file and its title. */
    public record Chart(Path file, String title) {
    }

    private BenchCharts() {
    }

    /** Draws the charts of the report {@code report} (a benchmark's JSON) into {@code dir}; returns what it wrote. */
    public static List<Chart> render(JsonNode report, Path dir) throws IOException {
        String name = report.path("benchmark").asText();
        List<Chart> written = new ArrayList<>();
        List<Named> charts = switch (name) {
            case "warm-assignment" -> List.of(
                    new Named("throughput", warmThroughput(report)),
                    new Named("latency", warmLatency(report)),
                    new Named("open-loop-cdf", openLoopCdf(report)));
            case "storm" -> List.of(
                    new Named("warm-cdf", stormWarmCdf(report)),
                    new Named("warm-by-second", stormWarmBySecond(report)),
                    new Named("cold-time-to-desktop", stormColdTimeToDesktop(report)),
                    new Named("cold-over-bound-cdf", stormColdOverBound(report)),
                    new Named("cold-eta", stormColdEta(report)));
            case "scale-of-state" -> List.of(new Named("queue-position", queuePosition(report)));
            case "faults" -> List.of(new Named("throughput", faultsThroughput(report)));
            default -> List.of();
        };
        for (Named chart : charts) {
            if (chart.chart() == null) {
                continue;
            }
            Files.createDirectories(dir);
            Path file = dir.resolve(name + "-" + chart.name() + ".png");
            ChartUtils.saveChartAsPNG(file.toFile(), chart.chart(), WIDTH, HEIGHT);
            written.add(new Chart(file, chart.chart().getTitle().getText()));
        }
        return written;
    }

    /** Draws the charts of every report in the directory given (default {@code target/bench}) again. */
    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args.length > 0 ? args[0] : "target/bench");
        ObjectMapper json = new ObjectMapper();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".json")).sorted().toList()) {
                JsonNode report = json.readTree(file.toFile());
                if (report.has("benchmark")) {
                    render(report, dir).forEach(c -> System.out.println("[bench] wrote " + c.file()));
                }
            }
        }
    }

    private record Named(String name, JFreeChart chart) {
    }

    // ---- benchmark 1: warm assignment

    /** Closed-loop assignments per second by concurrency: the broker, the raw ceiling and SKIP LOCKED. */
    static JFreeChart warmThroughput(JsonNode report) {
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        String[][] designs = {{"broker", "broker (3 nodes, HTTP + JWT)"},
            {"raw-infinispan", "raw Infinispan conditional replace"}, {"skip-locked", "SKIP LOCKED on PostgreSQL"}};
        for (String[] design : designs) {
            for (JsonNode run : runs(report, design[0])) {
                data.addValue(positive(run.path("throughputPerSecond").asDouble()), design[1],
                        run.path("clients").asText());
            }
        }
        if (data.getRowCount() == 0) {
            return null;
        }
        JFreeChart chart = categoryChart("Benchmark 1: warm assignments per second by concurrency", report,
                "concurrent clients (closed loop)", log("assignments per second (log scale)"), data);
        LineAndShapeRenderer renderer = (LineAndShapeRenderer) chart.getCategoryPlot().getRenderer();
        for (int row = 0; row < data.getRowCount(); row++) {
            renderer.setSeriesPaint(row, colour(data.getRowKey(row).toString()));
            renderer.setSeriesStroke(row, SOLID);
        }
        return chart;
    }

    /** p50, p99 and p99.9 by concurrency for the three designs: colour is the design, the dash the percentile. */
    static JFreeChart warmLatency(JsonNode report) {
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        String[][] designs = {{"broker", "broker"}, {"raw-infinispan", "raw"}, {"skip-locked", "SKIP LOCKED"}};
        String[][] percentiles = {{"p50Ms", "p50"}, {"p99Ms", "p99"}, {"p999Ms", "p99.9"}};
        for (String[] design : designs) {
            for (String[] percentile : percentiles) {
                for (JsonNode run : runs(report, design[0])) {
                    data.addValue(positive(run.path(percentile[0]).asDouble()), design[1] + " " + percentile[1],
                            run.path("clients").asText());
                }
            }
        }
        if (data.getRowCount() == 0) {
            return null;
        }
        JFreeChart chart = categoryChart("Benchmark 1: warm-assignment latency percentiles by concurrency", report,
                "concurrent clients (closed loop)", log("latency (ms, log scale)"), data);
        LineAndShapeRenderer renderer = (LineAndShapeRenderer) chart.getCategoryPlot().getRenderer();
        for (int row = 0; row < data.getRowCount(); row++) {
            String key = data.getRowKey(row).toString();
            renderer.setSeriesPaint(row, colour(key));
            renderer.setSeriesStroke(row, key.endsWith("p50") ? SOLID : key.endsWith("p99") ? DASHED : DOTTED);
        }
        return chart;
    }

    /** The distribution of latency in the open-loop runs (50 % and 80 % of saturation), against the 50 ms target. */
    static JFreeChart openLoopCdf(JsonNode report) {
        XYSeriesCollection data = new XYSeriesCollection();
        for (JsonNode run : runs(report, "broker-open")) {
            XYSeries series = cdf(run, String.format(Locale.ROOT, "%s (%.0f requests/s)", run.path("name").asText(),
                    run.path("targetRatePerSecond").asDouble()));
            if (series != null) {
                data.addSeries(series);
            }
        }
        if (data.getSeriesCount() == 0) {
            return null;
        }
        JFreeChart chart = cdfChart("Benchmark 1: warm-assignment latency in the open loop (from each request's due"
                + " time)", report, "latency (ms, log scale)", data);
        target(chart.getXYPlot(), 50, "target p99 <= 50 ms");
        return chart;
    }

    // ---- benchmark 2: logon storm

    /** The distribution of the time to connection details in the warm storm, against the 1 s target. */
    static JFreeChart stormWarmCdf(JsonNode report) {
        XYSeriesCollection data = new XYSeriesCollection();
        for (JsonNode run : runs(report, "warm-storm")) {
            XYSeries series = cdf(run, String.format(Locale.ROOT, "%d users at %.0f/s", run.path("requests").asLong(),
                    run.path("targetRatePerSecond").asDouble()));
            if (series != null) {
                data.addSeries(series);
            }
        }
        if (data.getSeriesCount() == 0) {
            return null;
        }
        JFreeChart chart = cdfChart("Benchmark 2: warm storm, time to connection details", report,
                "time to connection details (ms, log scale)", data);
        target(chart.getXYPlot(), 1000, "target p99 <= 1 s");
        return chart;
    }

    /** By the second the warm storm's requests fell due in: median, p99 and slowest, against the 1 s target. */
    static JFreeChart stormWarmBySecond(JsonNode report) {
        JsonNode bins = report.path("warmByArrivalSecond");
        if (!bins.isArray() || bins.isEmpty()) {
            return null;
        }
        XYSeries median = new XYSeries("median of the second's requests");
        XYSeries p99 = new XYSeries("p99 of the second's requests");
        XYSeries slowest = new XYSeries("slowest of the second's requests");
        for (JsonNode bin : bins) {
            double second = bin.path("second").asDouble() + 0.5;
            median.add(second, positive(bin.path("p50Ms").asDouble()));
            p99.add(second, positive(bin.path("p99Ms").asDouble()));
            slowest.add(second, positive(bin.path("maxMs").asDouble()));
        }
        XYSeriesCollection data = new XYSeriesCollection();
        Stream.of(slowest, p99, median).forEach(data::addSeries); // the slowest behind the others
        JFreeChart chart = xyChart("Benchmark 2: warm storm, time to connection details by arrival", report,
                new NumberAxis("second of the storm the requests fell due in (s)"),
                log("time to connection details (ms, log scale)"), data);
        XYPlot plot = chart.getXYPlot();
        plot.addRangeMarker(level(1000, "target p99 <= 1 s", DASHED));
        XYLineAndShapeRenderer renderer = (XYLineAndShapeRenderer) plot.getRenderer();
        paint(renderer, 0, WORST, DOTTED);
        paint(renderer, 1, SKIP_LOCKED, SOLID);
        paint(renderer, 2, BROKER, SOLID);
        return chart;
    }

    /** By arrival second in the cold storm: the median and slowest time to desktop against the lower bound. */
    static JFreeChart stormColdTimeToDesktop(JsonNode report) {
        JsonNode bins = report.path("cold").path("byArrivalSecond");
        if (!bins.isArray() || bins.isEmpty()) {
            return null;
        }
        XYSeries median = new XYSeries("time to desktop, median of the second's arrivals");
        XYSeries slowest = new XYSeries("time to desktop, slowest of the second's arrivals");
        XYSeries bound = new XYSeries("lower bound (hosts' clone + boot throughput)");
        XYSeries target = new XYSeries("1.2 x lower bound (target for p95)");
        for (JsonNode bin : bins) {
            double second = bin.path("second").asDouble();
            median.add(second, bin.path("waitP50Seconds").asDouble());
            slowest.add(second, bin.path("waitMaxSeconds").asDouble());
            bound.add(second, bin.path("lowerBoundSeconds").asDouble());
            target.add(second, 1.2 * bin.path("lowerBoundSeconds").asDouble());
        }
        XYSeriesCollection data = new XYSeriesCollection();
        Stream.of(median, slowest, bound, target).forEach(data::addSeries);
        JFreeChart chart = xyChart("Benchmark 2: cold storm, time to desktop by arrival against its lower bound",
                report, new NumberAxis("second of the storm the users arrived in (s)"),
                new NumberAxis("time from arrival to a READY desktop (s)"), data);
        XYLineAndShapeRenderer renderer = (XYLineAndShapeRenderer) chart.getXYPlot().getRenderer();
        paint(renderer, 0, BROKER, SOLID);
        paint(renderer, 1, WORST, SOLID);
        paint(renderer, 2, BOUND, SOLID);
        paint(renderer, 3, BOUND, DASHED);
        return chart;
    }

    /** The distribution of each queued user's time to desktop over its own lower bound, against the 1.2 target. */
    static JFreeChart stormColdOverBound(JsonNode report) {
        JsonNode percentiles = report.path("cold").path("overLowerBoundCdf").path("percentile");
        JsonNode values = report.path("cold").path("overLowerBoundCdf").path("value");
        if (!percentiles.isArray() || percentiles.isEmpty() || percentiles.size() != values.size()) {
            return null;
        }
        XYSeries series = new XYSeries("users beyond the spares", false);
        for (int i = 0; i < percentiles.size(); i++) {
            series.add(values.get(i).asDouble(), percentiles.get(i).asDouble());
        }
        NumberAxis x = new NumberAxis("time to desktop / its lower bound");
        x.setAutoRangeIncludesZero(false);
        NumberAxis y = new NumberAxis("users served within that ratio (%)");
        y.setRange(0, 100.5);
        JFreeChart chart = xyChart("Benchmark 2: cold storm, time to desktop over its lower bound", report, x, y,
                new XYSeriesCollection(series));
        x.setRange(Math.min(x.getLowerBound(), 0.9), Math.max(x.getUpperBound(), 1.3)); // 1 and the target in view
        XYLineAndShapeRenderer renderer = (XYLineAndShapeRenderer) chart.getXYPlot().getRenderer();
        paint(renderer, 0, BROKER, SOLID);
        renderer.setDefaultShapesVisible(true);
        target(chart.getXYPlot(), 1.2, "target p95 <= 1.2");
        chart.getXYPlot().addRangeMarker(level(95, "p95", DASHED));
        return chart;
    }

    /** The ETA a queued user was told at the request against the wait they got (a sample of the users). */
    static JFreeChart stormColdEta(JsonNode report) {
        JsonNode sample = report.path("cold").path("etaSample");
        if (!sample.isArray() || sample.isEmpty()) {
            return null;
        }
        XYSeries told = new XYSeries("a queued user: wait got, ETA told");
        double max = 1;
        for (JsonNode point : sample) {
            double waited = point.path("waitedSeconds").asDouble();
            double eta = point.path("etaSeconds").asDouble();
            told.add(waited, eta);
            max = Math.max(max, Math.max(waited, eta));
        }
        XYSeries exact = new XYSeries("ETA = wait");
        XYSeries high = new XYSeries("ETA 20 % off (target for p90)");
        XYSeries low = new XYSeries("ETA 20 % off, under");
        exact.add(0, 0);
        exact.add(max, max);
        high.add(0, 0);
        high.add(max / 1.2, max);
        low.add(0, 0);
        low.add(max, 0.8 * max);
        XYSeriesCollection data = new XYSeriesCollection();
        Stream.of(told, exact, high, low).forEach(data::addSeries);
        JFreeChart chart = xyChart("Benchmark 2: cold storm, ETA told at the request against the wait got", report,
                new NumberAxis("wait until a READY desktop (s)"), new NumberAxis("ETA told at the request (s)"), data);
        XYLineAndShapeRenderer renderer = (XYLineAndShapeRenderer) chart.getXYPlot().getRenderer();
        renderer.setSeriesLinesVisible(0, false);
        renderer.setSeriesShapesVisible(0, true);
        renderer.setSeriesPaint(0, BROKER);
        paint(renderer, 1, BOUND, SOLID);
        paint(renderer, 2, BOUND, DASHED);
        paint(renderer, 3, BOUND, DASHED);
        renderer.setSeriesVisibleInLegend(3, false);
        return chart;
    }

    // ---- benchmark 4: scale of state

    /** What one queued user's position costs by queue length: walking the queue against the ordered index. */
    static JFreeChart queuePosition(JsonNode report) {
        JsonNode views = report.path("queueViews");
        if (!views.isArray() || views.isEmpty()) {
            return null;
        }
        XYSeries walk = new XYSeries("walk of the queue (before this issue)");
        XYSeries index = new XYSeries("ordered index (SessionStore.waitingAhead)");
        for (JsonNode view : views) {
            walk.add(view.path("queued").asDouble(), positive(view.path("walkMicrosPerView").asDouble()));
            index.add(view.path("queued").asDouble(), positive(view.path("indexMicrosPerView").asDouble()));
        }
        XYSeriesCollection data = new XYSeriesCollection();
        data.addSeries(walk);
        data.addSeries(index);
        JFreeChart chart = xyChart("Benchmark 4: cost of a queued user's position by queue length", report,
                log("queued users in the pool (log scale)"), log("time per position (µs, log scale)"), data);
        XYLineAndShapeRenderer renderer = (XYLineAndShapeRenderer) chart.getXYPlot().getRenderer();
        paint(renderer, 0, SKIP_LOCKED, SOLID);
        paint(renderer, 1, BROKER, SOLID);
        renderer.setDefaultShapesVisible(true);
        return chart;
    }

    // ---- benchmark 5: faults under load

    /** Requests served per second over the run, the fault windows shaded, against the arrival rate. */
    static JFreeChart faultsThroughput(JsonNode report) {
        JsonNode perSecond = report.path("servedPerSecond");
        if (!perSecond.isArray() || perSecond.isEmpty()) {
            return null;
        }
        XYSeries served = new XYSeries("requests served (2xx) in the second");
        for (int s = 0; s < perSecond.size(); s++) {
            served.add(s + 0.5, perSecond.get(s).asDouble());
        }
        XYSeriesCollection data = new XYSeriesCollection(served);
        data.setIntervalWidth(0.9);
        NumberAxis x = new NumberAxis("seconds since the load started (s)");
        NumberAxis y = new NumberAxis("requests served per second");
        XYBarRenderer renderer = new XYBarRenderer();
        renderer.setBarPainter(new StandardXYBarPainter());
        renderer.setShadowVisible(false);
        renderer.setSeriesPaint(0, BROKER);
        XYPlot plot = new XYPlot(data, x, y, renderer);
        double rate = report.path("settings").path("ratePerSecond").asDouble();
        if (rate > 0) {
            plot.addRangeMarker(level(rate, "arrival rate " + number(rate) + "/s", SOLID));
            plot.addRangeMarker(level(0.9 * rate, "90 % of it (recovered)", DASHED));
            // the burst after a stall (answers held back) would flatten the rest: clip it, and say its height
            double top = 3 * rate;
            if (served.getMaxY() > top) {
                y.setRange(0, top);
                for (int s = 0; s < served.getItemCount(); s++) {
                    if (served.getY(s).doubleValue() > top) {
                        XYTextAnnotation value = new XYTextAnnotation(number(served.getY(s).doubleValue()) + " ↑",
                                served.getX(s).doubleValue(), top * 0.97);
                        value.setTextAnchor(TextAnchor.TOP_LEFT);
                        value.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 11));
                        plot.addAnnotation(value);
                    }
                }
            }
        }
        int seconds = report.path("settings").path("seconds").asInt();
        if (seconds > 0 && seconds < perSecond.size()) {
            plot.addDomainMarker(line(seconds, "load ends", BOUND, SOLID));
        }
        for (JsonNode fault : report.path("faults")) {
            double at = fault.path("atSecond").asDouble();
            double lasts = fault.path("lastsSeconds").asDouble();
            String label = fault.path("fault").asText();
            if (lasts > 0) {
                IntervalMarker window = new IntervalMarker(at, at + lasts, FAULT);
                window.setLabel(label);
                window.setLabelAnchor(RectangleAnchor.TOP_LEFT);
                window.setLabelTextAnchor(TextAnchor.TOP_LEFT);
                plot.addDomainMarker(window, Layer.BACKGROUND);
            } else {
                plot.addDomainMarker(line(at, label, WORST, DASHED));
            }
        }
        return finish(new JFreeChart("Benchmark 5: requests served per second under faults",
                JFreeChart.DEFAULT_TITLE_FONT, plot, true), report);
    }

    // ---- helpers

    private static List<JsonNode> runs(JsonNode report, String group) {
        List<JsonNode> runs = new ArrayList<>();
        report.path("runs").forEach(run -> {
            if (group.equals(run.path("group").asText())) {
                runs.add(run);
            }
        });
        return runs;
    }

    /** Percentile (y, %) against latency (x, ms) from a run's {@code latencyCdf}; null when the run has none. */
    private static XYSeries cdf(JsonNode run, String name) {
        JsonNode percentiles = run.path("latencyCdf").path("percentile");
        JsonNode millis = run.path("latencyCdf").path("ms");
        if (!percentiles.isArray() || percentiles.isEmpty() || percentiles.size() != millis.size()) {
            return null;
        }
        XYSeries series = new XYSeries(name, false);
        for (int i = 0; i < percentiles.size(); i++) {
            series.add(positive(millis.get(i).asDouble()), percentiles.get(i).asDouble());
        }
        return series;
    }

    private static JFreeChart cdfChart(String title, JsonNode report, String xLabel, XYSeriesCollection data) {
        NumberAxis y = new NumberAxis("requests answered within that time (%)");
        y.setRange(0, 100.5);
        JFreeChart chart = xyChart(title, report, log(xLabel), y, data);
        XYLineAndShapeRenderer renderer = (XYLineAndShapeRenderer) chart.getXYPlot().getRenderer();
        Color[] colours = {BROKER, SKIP_LOCKED, RAW, WORST};
        for (int i = 0; i < data.getSeriesCount(); i++) {
            paint(renderer, i, colours[i % colours.length], SOLID);
        }
        renderer.setDefaultShapesVisible(true);
        return chart;
    }

    private static JFreeChart xyChart(String title, JsonNode report, ValueAxis x, ValueAxis y,
            XYSeriesCollection data) {
        XYPlot plot = new XYPlot(data, x, y, new XYLineAndShapeRenderer(true, false));
        return finish(new JFreeChart(title, JFreeChart.DEFAULT_TITLE_FONT, plot, true), report);
    }

    private static JFreeChart categoryChart(String title, JsonNode report, String xLabel, ValueAxis y,
            DefaultCategoryDataset data) {
        LineAndShapeRenderer renderer = new LineAndShapeRenderer(true, true);
        CategoryPlot plot = new CategoryPlot(data, new CategoryAxis(xLabel), y, renderer);
        return finish(new JFreeChart(title, JFreeChart.DEFAULT_TITLE_FONT, plot, true), report);
    }

    /** White background, and the subtitle that says when and on what the run was made. */
    private static JFreeChart finish(JFreeChart chart, JsonNode report) {
        chart.setBackgroundPaint(Color.WHITE);
        chart.getPlot().setBackgroundPaint(new Color(250, 250, 250));
        chart.addSubtitle(new TextTitle(when(report), new Font(Font.SANS_SERIF, Font.PLAIN, 12)));
        chart.setPadding(new RectangleInsets(4, 4, 4, 24)); // room for the last tick label on the right
        if (chart.getPlot() instanceof XYPlot xy) {
            xy.setDomainGridlinePaint(Color.LIGHT_GRAY);
            xy.setRangeGridlinePaint(Color.LIGHT_GRAY);
            if (xy.getDomainAxis() instanceof LogAxis) {
                xy.setDomainMinorGridlinesVisible(true);
                xy.setDomainMinorGridlinePaint(MINOR_GRID);
            }
            if (xy.getRangeAxis() instanceof LogAxis) {
                xy.setRangeMinorGridlinesVisible(true);
                xy.setRangeMinorGridlinePaint(MINOR_GRID);
            }
            decades(xy.getDomainAxis());
            decades(xy.getRangeAxis());
        } else if (chart.getPlot() instanceof CategoryPlot category) {
            category.setRangeGridlinePaint(Color.LIGHT_GRAY);
            if (category.getRangeAxis() instanceof LogAxis) {
                category.setRangeMinorGridlinesVisible(true);
                category.setRangeMinorGridlinePaint(MINOR_GRID);
            }
            decades(category.getRangeAxis());
        }
        return chart;
    }

    /** A log axis from the decade below its data to the decade above, ticks on 1, 10, 100 ... (readable labels). */
    private static void decades(ValueAxis axis) {
        if (axis instanceof LogAxis log) {
            double low = Math.pow(10, Math.floor(Math.log10(Math.max(log.getLowerBound(), 0.001))));
            double high = Math.pow(10, Math.ceil(Math.log10(Math.max(log.getUpperBound(), low * 10))));
            // a hair beyond the decades, so that their own ticks are drawn despite rounding
            log.setRange(low * 0.999, (high <= low ? low * 10 : high) * 1.001);
            log.setTickUnit(new NumberTickUnit(1), false, true);
            log.setMinorTickCount(9);
            log.setMinorTickMarksVisible(true);
        }
    }

    /** "run of 2026-12-04 12:15 UTC, 2 cores, load average 12.5 at start and 15.2 at end". */
    static String when(JsonNode report) {
        String started = report.path("startedAt").asText("");
        String at;
        try {
            at = WHEN.format(Instant.parse(started));
        } catch (RuntimeException e) {
            at = started.isEmpty() ? "unknown time" : started;
        }
        JsonNode machine = report.path("machine");
        return String.format(Locale.ROOT, "run of %s, %d cores, load average %.1f at start and %.1f at end", at,
                machine.path("cores").asInt(), machine.path("loadAverageAtStart").asDouble(),
                report.path("loadAverageAtEnd").asDouble());
    }

    /** A log axis labelled with plain numbers (1, 10, 100 rather than 10^2). */
    private static LogAxis log(String label) {
        LogAxis axis = new LogAxis(label);
        axis.setBase(10);
        axis.setSmallestValue(0.001);
        axis.setNumberFormatOverride(new DecimalFormat("#,##0.###", DecimalFormatSymbols.getInstance(Locale.ROOT)));
        return axis;
    }

    /** A target as a vertical line, the axis widened to show it, its label left of it (it may be near the edge). */
    private static void target(XYPlot plot, double x, String label) {
        ValueAxis axis = plot.getDomainAxis();
        if (x * 1.2 > axis.getUpperBound()) {
            axis.setUpperBound(axis instanceof LogAxis ? Math.pow(10, Math.ceil(Math.log10(x * 1.2))) * 1.001
                    : x * 1.2);
        }
        if (x < axis.getLowerBound()) {
            axis.setLowerBound(axis instanceof LogAxis ? Math.pow(10, Math.floor(Math.log10(x))) * 0.999 : x * 0.8);
        }
        ValueMarker marker = line(x, label, WORST, DASHED);
        marker.setLabelAnchor(RectangleAnchor.TOP_LEFT);
        marker.setLabelTextAnchor(TextAnchor.TOP_RIGHT);
        plot.addDomainMarker(marker);
    }

    private static ValueMarker line(double value, String label, Paint paint, Stroke stroke) {
        ValueMarker marker = new ValueMarker(value, paint, stroke);
        marker.setLabel(label);
        marker.setLabelFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        marker.setLabelAnchor(RectangleAnchor.TOP_RIGHT);
        marker.setLabelTextAnchor(TextAnchor.TOP_LEFT);
        return marker;
    }

    /** A horizontal line across the plot, its label above it on the left. */
    private static ValueMarker level(double value, String label, Stroke stroke) {
        ValueMarker marker = new ValueMarker(value, BOUND, stroke);
        marker.setLabel(label);
        marker.setLabelFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        marker.setLabelAnchor(RectangleAnchor.LEFT);
        marker.setLabelTextAnchor(TextAnchor.BOTTOM_LEFT);
        return marker;
    }

    private static void paint(XYLineAndShapeRenderer renderer, int series, Paint paint, Stroke stroke) {
        renderer.setSeriesPaint(series, paint);
        renderer.setSeriesStroke(series, stroke);
    }

    private static Color colour(String series) {
        if (series.startsWith("raw")) {
            return RAW;
        }
        if (series.startsWith("SKIP")) {
            return SKIP_LOCKED;
        }
        return BROKER;
    }

    /** Log axes cannot show 0: a figure of 0 (nothing measured, or below the histogram's unit) is drawn at 0.001. */
    private static double positive(double value) {
        return Math.max(value, 0.001);
    }

    private static String number(double value) {
        return new DecimalFormat("#,##0.#", DecimalFormatSymbols.getInstance(Locale.ROOT)).format(value);
    }
}
