global using NUnit.Framework;
global using ModelBridge.Ir;
global using ModelBridge.Onnx;
global using ModelBridge.Errors;
global using ModelBridge.Verify;
global using ModelBridge.Tests;
