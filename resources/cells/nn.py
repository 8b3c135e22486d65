learning_rate = 0.01
n_iters = 100
loss = nn.MSELoss()
optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)

for epoch in range(n_iters):
    # prediction = forward pass
    y_pred =model(X)

    # loss
    l = loss(Y, y_pred)

    # gradients = backward pass
    l.backward() # dl/dw gradient of loss respect to w
    
    
    #update weights. Weights calculation should not be part of computational graph
    optimizer.step()
    
    # zero gradients. 
    optimizer.zero_grad()
    
    if epoch % 10 ==0:
        [w, b] = model.parameters()
        print(f'epoch {epoch+1}: w = {w[0][0].item():.3f}, loss = {l:.8f}')

print(f"prediction after training: f(5){model(X_test).item():.3f}")
