using System.Globalization;
using System.Net;
using System.Text;

namespace ModelBridge.Verify.Reports;

/// <summary>
/// A self-contained HTML page (no external assets). A failing page opens on the first divergence; then a
/// full-width inline SVG chart of each tensor's error along the original's topological order on a log
/// scale, with the per-tensor tolerance as a step line, the first divergence marked and the legend
/// above the plot; then a table of every tensor ordered by error/threshold (the first divergence on
/// top), re-ordered in graph order with one click, and sortable by any column.
/// </summary>
internal static class ParityHtml
{
    // The chart's own coordinates; the SVG scales to the page's width (CSS), keeping its proportions.
    private const int Width = 1200, Height = 350, Left = 64, Right = 16, Top = 28, Bottom = 40;

    public static string Write(ParityReport r)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        ParityRunInfo i = r.Info;
        sb.AppendLine("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">");
        sb.AppendLine("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
        sb.AppendLine(c, $"<title>Parity {(r.Passed ? "PASS" : "FAIL")}: {H(i.RewrittenModel)}</title>");
        sb.AppendLine("""
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:16px 24px;color:#222}
h1{margin:0 0 8px}h1 .pass{color:#1a7f37}h1 .fail{color:#c62828}h2{font-size:16px;margin:16px 0 6px}
table{border-collapse:collapse;margin-top:8px}th,td{border:1px solid #ddd;padding:3px 8px;text-align:right}
td.l,th.l{text-align:left}th{background:#f3f3f3;cursor:pointer;user-select:none}tr.fail td{background:#fdecea}
tr.first td{background:#ffcdd2;font-weight:600}code,pre{font:12px ui-monospace,monospace}
pre{background:#f6f8fa;padding:8px;white-space:pre-wrap;margin:0}section.first{border-left:4px solid #c62828;padding-left:10px}
svg.chart{display:block;width:100%;height:auto}.scroll{overflow-x:auto}svg text{font:12px system-ui,sans-serif}
.legend{display:flex;gap:18px;align-items:center;margin:4px 0}.legend span{display:inline-flex;align-items:center;gap:6px}
.dot{display:inline-block;width:9px;height:9px;border-radius:50%}.bar{display:inline-block;width:22px;height:0;border-top:2px solid #f9a825}
.dash{display:inline-block;width:0;height:14px;border-left:2px dashed #c62828}
.order button{font:inherit;padding:2px 10px;margin-left:4px;cursor:pointer}.order button[aria-pressed=true]{background:#333;color:#fff}
</style></head><body>
""");
        sb.AppendLine(c, $"<h1>Parity: <span class=\"{(r.Passed ? "pass" : "fail")}\">{(r.Passed ? "PASS" : "FAIL")}</span></h1>");
        sb.AppendLine(c, $"<p><code>{H(i.RewrittenModel)}</code> (converted) against <code>{H(i.OriginalModel)}</code> (original): {H(r.ToString())}</p>");
        if (r.FirstDivergence is { } first)
        {
            sb.AppendLine(c, $"<section class=\"first\" id=\"first-divergence\"><h2>First divergence: <code>{H(first.Original)}</code> ({H(first.OpType)}, #{first.Order} in topological order)</h2>");
            sb.AppendLine(c, $"<pre>{H(ParityAssertion.Describe(r))}</pre></section>");
        }
        sb.AppendLine(c, $"<p>Rule {H(ParityJson.Rule(i.Rule))}, base tolerance {H(i.BaseTolerance.ToString())}{(i.Target is null ? "" : $" (target {H(i.Target)})")}; inputs: {H(i.Inputs)}; {i.OrtRuns} ORT runs in {i.Chunks} chunk(s); exposed tensors {ParityMarkdown.Mib(i.ExposedPeakBytes)} of the {ParityMarkdown.Mib(i.MaxMemoryBytes)} budget; peak working set {ParityMarkdown.Mib(i.PeakWorkingSetBytes)}; {i.Elapsed.TotalSeconds:F2} s.</p>");
        sb.AppendLine("<h2>Error along the original's topological order</h2>");
        sb.AppendLine("<div class=\"legend\"><span><i class=\"dot\" style=\"background:#1a7f37\"></i>pass</span><span><i class=\"dot\" style=\"background:#c62828\"></i>fail</span>"
            + "<span><i class=\"bar\"></i>tolerance (per tensor)</span>" + (r.FirstDivergence is null ? "" : "<span><i class=\"dash\"></i>first divergence</span>") + "</div>");
        Chart(sb, r);
        Table(sb, r);
        sb.AppendLine("""
<script>
(function(){
var table=document.getElementById('tensors'),tb=table.tBodies[0];
function num(row,key){return parseFloat(row.dataset[key]);}
function order(by){
var rows=Array.from(tb.rows);
rows.sort(by==='graph'?function(a,b){return num(a,'order')-num(b,'order');}
:function(a,b){return num(a,'rank')-num(b,'rank');});
rows.forEach(function(r){tb.appendChild(r);});
document.querySelectorAll('.order button').forEach(function(b){b.setAttribute('aria-pressed',b.dataset.by===by?'true':'false');});}
document.querySelectorAll('.order button').forEach(function(b){b.addEventListener('click',function(){order(b.dataset.by);});});
table.querySelectorAll('th').forEach(function(th,col){th.addEventListener('click',function(){
var rows=Array.from(tb.rows),asc=th.dataset.asc!=='1';th.dataset.asc=asc?'1':'0';
rows.sort(function(a,b){var x=a.cells[col].dataset.v||a.cells[col].textContent,y=b.cells[col].dataset.v||b.cells[col].textContent;
var nx=parseFloat(x),ny=parseFloat(y);var d=(!isNaN(nx)&&!isNaN(ny))?nx-ny:x.localeCompare(y);return asc?d:-d;});
rows.forEach(function(r){tb.appendChild(r);});
document.querySelectorAll('.order button').forEach(function(b){b.setAttribute('aria-pressed','false');});});});
})();
</script></body></html>
""");
        return sb.ToString();
    }

    /// <summary>
    /// The table's default order: the first divergence, then every other tensor from the largest
    /// error/threshold down (non-finite first), ties in graph order.
    /// </summary>
    internal static IReadOnlyList<TensorParity> DefaultOrder(ParityReport r)
    {
        IEnumerable<TensorParity> rest = ParityJson.ByScore(r).Where(t => !ReferenceEquals(t, r.FirstDivergence));
        return r.FirstDivergence is { } first ? [first, .. rest] : [.. rest];
    }

    private static void Chart(StringBuilder sb, ParityReport r)
    {
        var c = CultureInfo.InvariantCulture;
        var ts = r.Tensors;
        sb.AppendLine(c, $"<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {Width} {Height}\" preserveAspectRatio=\"xMidYMid meet\" role=\"img\" aria-label=\"error along the topological order\">");
        sb.AppendLine(c, $"<rect x=\"0\" y=\"0\" width=\"{Width}\" height=\"{Height}\" fill=\"#fff\"/>");
        if (ts.Count == 0)
        {
            sb.AppendLine("<text x=\"20\" y=\"40\">no tensor compared</text></svg>");
            return;
        }
        // Exact matches (error 0) sit on the bottom line, labelled as "at most" that value.
        static double Clamp(double v) => double.IsFinite(v) && v > 0 ? Math.Max(v, 1e-12) : v > 0 ? 1e12 : 1e-12;
        double[] errors = [.. ts.Select(t => Clamp(t.Problem is null ? t.Error : double.PositiveInfinity))];
        double[] thresholds = [.. ts.Select(t => Clamp(t.Threshold))];
        double lo = Math.Floor(Math.Log10(Math.Min(errors.Min(), thresholds.Min())));
        double hi = Math.Ceiling(Math.Log10(Math.Max(errors.Max(), thresholds.Max())));
        lo = Math.Max(lo, hi - 14);
        if (hi <= lo)
        {
            hi = lo + 1;
        }
        double plotW = Width - Left - Right, plotH = Height - Top - Bottom;
        double X(int k) => Left + (ts.Count == 1 ? plotW / 2 : plotW * k / (ts.Count - 1));
        double Y(double v) => Top + (plotH * (hi - Math.Clamp(Math.Log10(v), lo, hi)) / (hi - lo));
        int step = Math.Max(1, (int)Math.Ceiling((hi - lo) / 8));
        for (double e = lo; e <= hi; e += step)
        {
            double y = Top + (plotH * (hi - e) / (hi - lo));
            string label = e == lo && errors.Any(v => v <= 1e-12) ? "≤1e" + e.ToString("F0", c) : "1e" + e.ToString("F0", c);
            sb.AppendLine(c, $"<line x1=\"{Left}\" x2=\"{Width - Right}\" y1=\"{y:F1}\" y2=\"{y:F1}\" stroke=\"#eee\"/><text x=\"{Left - 6}\" y=\"{y + 4:F1}\" text-anchor=\"end\">{label}</text>");
        }
        sb.AppendLine(c, $"<line x1=\"{Left}\" x2=\"{Left}\" y1=\"{Top}\" y2=\"{Height - Bottom}\" stroke=\"#999\"/><line x1=\"{Left}\" x2=\"{Width - Right}\" y1=\"{Height - Bottom}\" y2=\"{Height - Bottom}\" stroke=\"#999\"/>");
        sb.AppendLine(c, $"<text x=\"{Left + (plotW / 2):F0}\" y=\"{Height - 10}\" text-anchor=\"middle\">tensors in the original's topological order ({ts.Count})</text>");
        sb.AppendLine(c, $"<text x=\"14\" y=\"{Top + (plotH / 2):F0}\" transform=\"rotate(-90 14 {Top + (plotH / 2):F0})\" text-anchor=\"middle\">error (log)</text>");
        if (r.FirstDivergence is { } first)
        {
            int k = IndexOf(ts, first);
            sb.AppendLine(c, $"<line x1=\"{X(k):F1}\" x2=\"{X(k):F1}\" y1=\"{Top - 22}\" y2=\"{Height - Bottom}\" stroke=\"#c62828\" stroke-dasharray=\"4 3\"/>");
            // The label sits in the band above the plot, on the side of the line with more room.
            bool right = X(k) < Left + (plotW * 0.7);
            sb.AppendLine(c, $"<text x=\"{(right ? X(k) + 5 : X(k) - 5):F1}\" y=\"{Top - 10}\" fill=\"#c62828\" text-anchor=\"{(right ? "start" : "end")}\">first divergence: {H(Short(first.Original))}</text>");
        }
        // Tolerance as a step line (each tensor has its own threshold).
        var tol = new StringBuilder();
        for (int k = 0; k < ts.Count; k++)
        {
            double x0 = ts.Count == 1 ? Left : k == 0 ? X(0) : (X(k - 1) + X(k)) / 2, x1 = ts.Count == 1 ? Width - Right : k == ts.Count - 1 ? X(k) : (X(k) + X(k + 1)) / 2;
            tol.Append(c, $"{x0:F1},{Y(thresholds[k]):F1} {x1:F1},{Y(thresholds[k]):F1} ");
        }
        sb.AppendLine(c, $"<polyline fill=\"none\" stroke=\"#f9a825\" stroke-width=\"2\" points=\"{tol.ToString().TrimEnd()}\"><title>tolerance</title></polyline>");
        var line = new StringBuilder();
        for (int k = 0; k < ts.Count; k++)
        {
            line.Append(c, $"{X(k):F1},{Y(errors[k]):F1} ");
        }
        sb.AppendLine(c, $"<polyline fill=\"none\" stroke=\"#90a4ae\" stroke-width=\"1\" points=\"{line.ToString().TrimEnd()}\"/>");
        for (int k = 0; k < ts.Count; k++)
        {
            TensorParity t = ts[k];
            string color = t.Passed ? "#1a7f37" : "#c62828";
            double radius = ReferenceEquals(t, r.FirstDivergence) ? 5 : 2.5;
            sb.AppendLine(c, $"<circle cx=\"{X(k):F1}\" cy=\"{Y(errors[k]):F1}\" r=\"{radius}\" fill=\"{color}\"><title>{H(t.Original)} ({H(t.OpType)}): error {t.Error:G3}, threshold {t.Threshold:G3}</title></circle>");
        }
        sb.AppendLine("</svg>");
    }

    private static void Table(StringBuilder sb, ParityReport r)
    {
        var c = CultureInfo.InvariantCulture;
        sb.AppendLine(c, $"<h2>Tensors ({r.Tensors.Count}, {r.Divergences.Count} diverging)</h2>");
        sb.AppendLine("<p class=\"order\">Order: <button type=\"button\" data-by=\"score\" aria-pressed=\"true\">error/threshold</button><button type=\"button\" data-by=\"graph\" aria-pressed=\"false\">graph order</button> (or click a column header)</p>");
        sb.AppendLine("<div class=\"scroll\"><table id=\"tensors\"><thead><tr><th>#</th><th class=\"l\">tensor</th><th class=\"l\">op</th><th class=\"l\">verdict</th><th>error</th><th>threshold</th><th>error/threshold</th><th>max abs</th><th>mean abs</th><th>rmse</th><th>p99 abs</th><th>rel-to-max</th><th>cosine</th><th>SNR dB</th><th>local</th><th class=\"l\">passes</th><th class=\"l\">contract</th><th class=\"l\">responsible pass</th></tr></thead><tbody>");
        IReadOnlyList<TensorParity> rows = DefaultOrder(r);
        for (int rank = 0; rank < rows.Count; rank++)
        {
            TensorParity t = rows[rank];
            ParityMetrics m = t.Metrics;
            string cls = ReferenceEquals(t, r.FirstDivergence) ? "first" : t.Passed ? "" : "fail";
            sb.Append(c, $"<tr class=\"{cls}\" data-order=\"{t.Order}\" data-rank=\"{rank}\"><td>{t.Order}</td><td class=\"l\"><code>{H(t.Original)}</code>{(t.Name != t.Original ? $"<br><small>{H(t.Name)}</small>" : "")}</td><td class=\"l\">{H(t.OpType)}</td>");
            sb.Append(c, $"<td class=\"l\">{(t.Passed ? "pass" : "fail")}{(t.Problem is null ? "" : ": " + H(t.Problem))}</td>");
            sb.Append(c, $"{N(t.Error)}{N(t.Threshold)}{N(t.Score)}{N(m.MaxAbsError)}{N(m.MeanAbsError)}{N(m.Rmse)}{N(m.QuantileAbsError)}{N(m.RelativeToMax)}");
            sb.Append(c, $"<td data-v=\"{m.CosineSimilarity.ToString("R", c)}\">{m.CosineSimilarity:F7}</td>{N(m.SnrDb)}");
            sb.Append(t.Local is { } l ? $"<td data-v=\"{l.Error.ToString("R", c)}\">{l.Error.ToString("G3", c)} {(l.Passed ? "carried" : "introduced")}</td>" : "<td data-v=\"-1\"></td>");
            sb.Append(c, $"<td class=\"l\">{H(string.Join(", ", t.Passes))}</td><td class=\"l\">{H(t.Contract.ToString())}</td><td class=\"l\">{H(t.Attribution?.PassId ?? "")}</td></tr>");
            sb.AppendLine();
        }
        sb.AppendLine("</tbody></table></div>");
    }

    private static string N(double v)
    {
        var c = CultureInfo.InvariantCulture;
        string key = double.IsNaN(v) ? "-1" : double.IsPositiveInfinity(v) ? "1e308" : v.ToString("R", c);
        return $"<td data-v=\"{key}\">{v.ToString("G3", c)}</td>";
    }

    private static int IndexOf(IReadOnlyList<TensorParity> ts, TensorParity t)
    {
        for (int k = 0; k < ts.Count; k++)
        {
            if (ReferenceEquals(ts[k], t))
            {
                return k;
            }
        }
        return 0;
    }

    private static string Short(string s) => s.Length <= 48 ? s : "…" + s[^47..];

    private static string H(string s) => WebUtility.HtmlEncode(s);
}
