using ModelBridge.Slimming;
using static ModelBridge.Tests.Passes.ConvModels;

namespace ModelBridge.Tests.Slimming;

[TestFixture]
public sealed class RankAllocatorTests
{
    private static SlimCandidate C(string layer, long macs, double error, int rank = 1) => new(layer, FactorizationMethod.Channel, rank, macs, 0, error);

    [Test]
    public void Takes_the_smallest_threshold_that_meets_the_budget()
    {
        // Model 1000 MACs: layer a 600, layer b 300, 100 elsewhere.
        SlimCandidate[] candidates = [C("a", 400, 0.01), C("a", 200, 0.05), C("b", 150, 0.02), C("b", 50, 0.30)];
        (string, long)[] layers = [("a", 600), ("b", 300)];
        // F = 0.8 (800): τ = 0.01 gives 400 + 300 + 100 = 800.
        Allocation r = RankAllocator.Allocate(1000, layers, candidates, 0.8);
        Assert.That((r.Met, r.Macs, r.Threshold), Is.EqualTo((true, 800L, 0.01)));
        Assert.That(r.Layers.Select(l => l.Choice?.Macs), Is.EqualTo(new long?[] { 400, null }));
        // F = 0.6 (600): τ = 0.02 gives 400 + 150 + 100 = 650 > 600; τ = 0.05 gives 200 + 150 + 100 = 450.
        r = RankAllocator.Allocate(1000, layers, candidates, 0.6);
        Assert.That((r.Met, r.Macs, r.Threshold), Is.EqualTo((true, 450L, 0.05)));
        // F = 0.3 (300): even τ = 0.30 leaves 200 + 50 + 100 = 350.
        r = RankAllocator.Allocate(1000, layers, candidates, 0.3);
        Assert.That((r.Met, r.Macs), Is.EqualTo((false, 350L)));
        Assert.That(RankAllocator.Allocate(1000, layers, candidates, 1.0).Macs, Is.EqualTo(1000), "F = 1 slims nothing");
    }

    [Test]
    public void Meets_the_budget_and_is_monotone_in_F_on_random_tables()
    {
        var rng = new Random(15);
        for (int trial = 0; trial < 50; trial++)
        {
            var layers = Enumerable.Range(0, rng.Next(1, 12)).Select(i => ($"l{i}", (long)rng.Next(100, 10000))).ToList();
            var candidates = layers.SelectMany(l => Enumerable.Range(1, rng.Next(1, 9))
                .Select(k => C(l.Item1, (long)(l.Item2 * rng.NextDouble()), rng.NextDouble() * rng.NextDouble(), k))).ToList();
            long model = layers.Sum(l => l.Item2) + rng.Next(0, 5000);
            long previousMacs = -1;
            double previousThreshold = double.PositiveInfinity;
            for (double f = 0.05; f <= 1.0001; f += 0.05)
            {
                Allocation a = RankAllocator.Allocate(model, layers, candidates, Math.Min(f, 1));
                Assert.That(a.Macs, Is.EqualTo(model - a.Layers.Sum(l => l.OriginalMacs - l.Macs)), "totals add up");
                if (a.Met)
                {
                    Assert.That(a.Macs, Is.LessThanOrEqualTo(a.TargetMacs));
                    Assert.That(a.Layers.All(l => l.Choice is null || l.Choice.Error <= a.Threshold), Is.True);
                }
                Assert.That(a.Macs, Is.GreaterThanOrEqualTo(previousMacs), $"trial {trial}: a larger F never gives fewer MACs");
                Assert.That(a.Threshold, Is.LessThanOrEqualTo(previousThreshold), $"trial {trial}: a larger F never needs a larger threshold");
                previousMacs = a.Macs;
                previousThreshold = a.Threshold;
            }
        }
    }

    [Test]
    public void Rejects_a_budget_outside_0_to_1()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => RankAllocator.Allocate(10, [], [], 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => RankAllocator.Allocate(10, [], [], 1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => RankAllocator.Allocate(10, [], [], double.NaN));
    }

    [Test]
    public void Grid_holds_ranks_that_save_macs_up_to_the_full_rank()
    {
        using Model m = Conv(new ConvSpec { Input = [1, 16, 10, 10], OutChannels = 24, Pads = [1, 1, 1, 1] });
        ConvLayer layer = ConvLayer.Find(m.Graph, ModelBridge.Shapes.ShapeInference.Run(m.Graph), "").Layers.Single();
        var grid = RankAllocator.Grid(layer, [FactorizationMethod.Channel, FactorizationMethod.Spatial, FactorizationMethod.Separable]);
        foreach (var (method, rank) in grid)
        {
            Assert.That(rank, Is.InRange(1, layer.FullRank(method)));
            Assert.That(layer.Macs(method, rank), Is.LessThan(layer.OriginalMacs));
        }
        Assert.That(grid.GroupBy(g => g.Method).Select(g => g.Count()), Is.All.InRange(1, 9));
        Assert.That(grid.Distinct().Count(), Is.EqualTo(grid.Count));
        // Channel at ratio 0.5: r = floor(0.5·24·144 / (144 + 24)) = 10.
        Assert.That(grid, Does.Contain((FactorizationMethod.Channel, 10)));
    }
}
