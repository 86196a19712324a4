global using ModelBridge.Ir;
global using NUnit.Framework;
