using ModelBridge.Verify.Slimming;

namespace ModelBridge.Verify.Tests.Slimming;

[TestFixture]
public sealed class TaskAgreementTests
{
    private static TensorData T(long[] dims, params float[] v) => TensorData.Create<float>(dims, v);

    [Test]
    public void Binary_iou_is_intersection_over_union_of_the_thresholded_maps()
    {
        TaskAgreement iou = TaskAgreement.Parse("binary-iou:map:0.3");
        Assert.That((iou.Output, iou.Threshold), Is.EqualTo(("map", 0.3)));
        // Above 0.3 (0.3f is not above 0.3 in float32): reference {0, 1, 2}, actual {1, 2, 3}: |∩| = 2, |∪| = 4.
        Assert.That(iou.Measure(T([5], 0.9f, 0.5f, 0.31f, 0.1f, 0f), T([5], 0.2f, 0.4f, 0.8f, 0.6f, 0.3f)), Is.EqualTo(0.5));
        Assert.That(iou.Measure(T([2], 0f, 0.1f), T([2], 0.2f, 0f)), Is.EqualTo(1), "two empty maps agree");
        Assert.That(iou.Measure(T([2], 0f, 0.1f), T([2], 0.9f, 0f)), Is.EqualTo(0), "a false detection on an empty map");
    }

    [Test]
    public void Topk_overlap_compares_the_highest_scores_of_one_channel()
    {
        TaskAgreement top = TaskAgreement.Parse("topk-overlap:scores:2:1");
        Assert.That((top.Output, top.K, top.Channel), Is.EqualTo(("scores", 2, (int?)1)));
        // [anchor, (background, face)]: face scores 0.9, 0.8, 0.1, 0.7 → top 2 anchors {0, 1}; actual 0.2, 0.8, 0.1, 0.9 → {3, 1}.
        TensorData reference = T([1, 4, 2], 0.1f, 0.9f, 0.2f, 0.8f, 0.9f, 0.1f, 0.3f, 0.7f);
        TensorData actual = T([1, 4, 2], 0.8f, 0.2f, 0.2f, 0.8f, 0.9f, 0.1f, 0.1f, 0.9f);
        Assert.That(top.Measure(reference, actual), Is.EqualTo(0.5));
        Assert.That(TaskAgreement.Parse("topk-overlap:scores:2").Measure(reference, actual), Is.EqualTo(0.5), "over all elements: indices {1, 4} against {4, 7}");
        Assert.Throws<ArgumentException>(() => TaskAgreement.Parse("topk-overlap:scores:2:5").Measure(reference, actual));
    }

    [TestCase("iou:map:0.3")]
    [TestCase("binary-iou:map")]
    [TestCase("binary-iou:map:high")]
    [TestCase("topk-overlap:scores")]
    [TestCase("topk-overlap:scores:0")]
    public void Malformed_specs_are_refused_with_the_forms(string spec)
    {
        var ex = Assert.Throws<FormatException>(() => TaskAgreement.Parse(spec));
        Assert.That(ex!.Message, Does.Contain("binary-iou:OUTPUT:THRESHOLD").And.Contain("topk-overlap:OUTPUT:K"));
    }

    [Test]
    public void Output_names_may_contain_colons()
    {
        Assert.That(TaskAgreement.Parse("binary-iou:a:b:0.5").Output, Is.EqualTo("a:b"));
        Assert.That(TaskAgreement.Parse("topk-overlap:a:b:10").Output, Is.EqualTo("a:b"));
    }
}
